// The relay's loop: a Canal session (shared/canal) → one batch at a time → its entries converted to
// Canal's flat messages and appended to the stream of their table (StreamWriter: "<seq>-0" ids,
// entries served again by Canal skipped by binlog position) → the Redis replicas waited for when
// asked → only then the batch is acknowledged to Canal. A failed write is retried with the batch
// kept (the append is idempotent); a failed session is closed and opened again, and opening rolls
// back, so Canal serves every batch not acknowledged again. Nothing is acknowledged that is not in
// Redis, and nothing is in a stream twice.
import { mastersOf } from '@sluice/buffer';
import { type CanalClientOptions, CanalSession, convertEntry } from '@sluice/canal';
import { backoffDelay, tableKey } from '@sluice/core';
import type { Logger, relayMetrics } from '@sluice/runtime';
import {
  leaseHolder,
  releaseLease,
  renewLease,
  type StreamEntry,
  type StreamLayout,
  type StreamWriter,
  streamOfTable,
  takeLease,
} from '@sluice/source';
import type { Cluster, Redis } from 'ioredis';

export interface RelayOptions {
  canal: CanalClientOptions;
  layout: StreamLayout;
  /** Name of the positions this relay keeps per stream (the Canal destination). */
  source: string;
  /** Replicas that must hold a batch before it is acknowledged (WAIT); 0 = none. */
  waitReplicas: number;
  waitTimeoutMs: number;
  retryMaxMs: number;
  /**
   * One relay per destination reads Canal (two would take turns at Canal's batches and skip each
   * other's as written): the others wait on standby for this lease. The one that holds it claims
   * the streams (StreamWriter.claim), and every write is fenced by that claim.
   */
  lease: { key: string; holder: string; ttlMs: number };
}

export interface RelayDeps {
  writer: StreamWriter;
  redis: Redis | Cluster;
  metrics: ReturnType<typeof relayMetrics>;
  logger: Logger;
  /** Why the relay must not read Canal now (backpressure, durability), or undefined. */
  holdReason: () => string | undefined;
  /** Opens a Canal session (tests may wrap it); CanalSession.open by default. */
  openSession?: (options: CanalClientOptions) => Promise<CanalSession>;
}

export interface RelayStatus {
  /** active: holds the destination's lease and reads Canal; standby: another relay does. */
  role: 'active' | 'standby';
  connected: boolean;
  /** A batch is got from Canal and not acknowledged yet. */
  inFlight: boolean;
  held: string | undefined;
  batches: number;
  written: number;
  skipped: number;
  lastPosition: string | undefined;
  lastBinlogTime: number | undefined;
  lastError: string | undefined;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Relay {
  private readonly options: RelayOptions;
  private readonly deps: RelayDeps;
  private stopping = false;
  private session: CanalSession | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  readonly status: RelayStatus = {
    role: 'standby',
    connected: false,
    inFlight: false,
    held: undefined,
    batches: 0,
    written: 0,
    skipped: 0,
    lastPosition: undefined,
    lastBinlogTime: undefined,
    lastError: undefined,
  };

  constructor(options: RelayOptions, deps: RelayDeps) {
    this.options = options;
    this.deps = deps;
  }

  private role(): RelayStatus['role'] {
    return this.status.role;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Ends after the batch in flight is written and acknowledged (or abandoned, unacknowledged). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    this.session?.close();
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.wake = undefined;
  }

  private async run(): Promise<void> {
    const { logger, metrics, redis } = this.deps;
    const { key, holder, ttlMs } = this.options.lease;
    const open = this.deps.openSession ?? ((o: CanalClientOptions) => CanalSession.open(o));
    let attempt = 0;
    let standbyLogged = false;
    while (!this.stopping) {
      const ours = await takeLease(redis, key, holder, ttlMs).catch((error: unknown) => {
        logger.warn({ err: error }, 'the relay lease cannot be read: waiting');
        return false;
      });
      if (!ours) {
        this.status.role = 'standby';
        if (!standbyLogged) {
          const other = await leaseHolder(redis, key).catch(() => undefined);
          logger.info({ holder: other, lease: key }, 'standby: another relay reads this destination');
          standbyLogged = true;
        }
        await this.pause(Math.max(100, Math.floor(ttlMs / 3)));
        continue;
      }
      standbyLogged = false;
      // The streams are this relay's to write from now on (a relay that lost the lease is fenced out).
      const claimed = await this.deps.writer.claim(this.options.source, holder).then(
        () => true,
        (error: unknown) => {
          logger.warn({ err: error }, 'the streams cannot be claimed: waiting');
          return false;
        },
      );
      if (!claimed) {
        await this.pause(Math.max(100, Math.floor(ttlMs / 3)));
        continue;
      }
      this.status.role = 'active';
      // Renewed at a third of its time; lost (another relay has it) → the session ends at once. A
      // renewal that errs is tried again: the fence in every write is what keeps two relays apart.
      const renewal = setInterval(
        () => {
          renewLease(redis, key, holder, ttlMs)
            .then((renewed) => {
              if (renewed || this.stopping) return;
              logger.warn({ lease: key }, 'the relay lease was lost: stopping to read Canal');
              this.status.role = 'standby';
              this.session?.close();
            })
            .catch((error: unknown) => logger.warn({ err: error }, 'the relay lease could not be renewed'));
        },
        Math.max(100, Math.floor(ttlMs / 3)),
      );
      let retryInMs = 0;
      try {
        const session = await open(this.options.canal);
        this.session = session;
        this.status.connected = true;
        metrics.connected.set(1);
        logger.info(
          { canal: this.options.canal.address, destination: this.options.canal.destination },
          'subscribed to Canal',
        );
        attempt = 0;
        await this.pump(session);
      } catch (error) {
        if (this.stopping) break;
        this.status.lastError = (error as Error).message;
        // (the role may have changed under the session: the renewal or a fenced write says so)
        metrics.errors.inc({ reason: this.role() === 'standby' ? 'lease' : 'canal' });
        retryInMs = backoffDelay(++attempt, 250, this.options.retryMaxMs, Math.random);
        logger.warn(
          { err: error, retryInMs },
          'Canal session ended: reconnecting (batches not acknowledged are served again)',
        );
      } finally {
        clearInterval(renewal);
        this.session?.close();
        this.session = undefined;
        this.status.connected = false;
        metrics.connected.set(0);
        if (this.stopping) {
          // hand the destination over at once rather than after the lease's time
          await this.deps.writer.disclaim(this.options.source, holder).catch(() => undefined);
          await releaseLease(redis, key, holder).catch(() => undefined);
          this.status.role = 'standby';
        }
      }
      if (retryInMs > 0 && !this.stopping) await this.pause(retryInMs);
    }
  }

  private async pump(session: CanalSession): Promise<void> {
    const { metrics } = this.deps;
    while (!this.stopping) {
      const held = this.deps.holdReason();
      if (held !== this.status.held) {
        this.status.held = held;
        metrics.paused.set(held ? 1 : 0);
        if (held) this.deps.logger.warn({ reason: held }, 'not reading Canal');
        else this.deps.logger.info('reading Canal again');
      }
      if (held) {
        await this.pause(200);
        continue;
      }
      const batch = await session.get();
      if (batch.id === -1) continue;
      const started = performance.now();
      this.status.inFlight = true;
      try {
        await this.write(batch.id, batch.entries);
        if (session.error) throw session.error;
        session.ack(batch.id);
      } finally {
        this.status.inFlight = false;
      }
      this.status.batches++;
      metrics.batches.inc();
      metrics.batchSeconds.observe((performance.now() - started) / 1000);
    }
  }

  /** Converts a batch and writes it, retrying until Redis takes it (or the relay stops: then throws). */
  private async write(batchId: number, entries: readonly Buffer[]): Promise<void> {
    const { logger, metrics, writer } = this.deps;
    const { layout, source } = this.options;
    const now = Date.now();
    const perStream = new Map<number, StreamEntry[]>();
    let none = 0;
    let lastTime: number | undefined;
    let lastPosition: string | undefined;
    let previous: { file: string; offset: number } | undefined;
    const undecodable: Array<{ index: number; error: string; bytes: Buffer }> = [];
    for (let index = 0; index < entries.length; index++) {
      const bytes = entries[index] as Buffer;
      let converted: ReturnType<typeof convertEntry>;
      try {
        converted = convertEntry(bytes, batchId, now);
      } catch (error) {
        undecodable.push({ index, error: (error as Error).message, bytes });
        continue;
      }
      previous = { file: converted.logfileName, offset: converted.logfileOffset };
      const message = converted.message;
      if (!message) {
        none++;
        continue;
      }
      const stream =
        message.table === ''
          ? 0
          : streamOfTable(tableKey(message.database, message.table), layout.partitions);
      const list = perStream.get(stream) ?? [];
      list.push({ position: previous, message: JSON.stringify(message) });
      perStream.set(stream, list);
      lastTime = message.es;
      lastPosition = `${previous.file}:${previous.offset}`;
    }
    for (const bad of undecodable) {
      // Canal's own bytes that do not decode: written for ingest to dead-letter (the text is not a
      // flat message), at a position just after the entry before it, so it is written once.
      metrics.errors.inc({ reason: 'undecodable_entry' });
      logger.error(
        { batchId, index: bad.index, err: bad.error },
        'a Canal entry does not decode: passed on as a dead letter',
      );
      const after = previous ?? { file: '', offset: 0 };
      const list = perStream.get(0) ?? [];
      list.push({
        position: { file: after.file, offset: after.offset + 1 + bad.index },
        message: `undecodable Canal entry (${bad.error}); bytes (base64): ${bad.bytes.toString('base64')}`,
      });
      perStream.set(0, list);
    }
    if (none > 0) metrics.entries.inc({ outcome: 'none' }, none);

    for (let attempt = 0; ; attempt++) {
      try {
        let written = 0;
        let skipped = 0;
        await Promise.all(
          [...perStream].map(async ([stream, list]) => {
            const result = await writer.append(stream, source, list, now, {
              holder: this.options.lease.holder,
            });
            written += result.written;
            skipped += result.skipped;
          }),
        );
        if (this.options.waitReplicas > 0) {
          // WAIT counts the replicas of one connection's writes: on a cluster, of each master's.
          const acks = await Promise.all(
            mastersOf(this.deps.redis).map((node) =>
              node.wait(this.options.waitReplicas, this.options.waitTimeoutMs),
            ),
          );
          const acked = Math.min(...acks.map(Number));
          if (acked < this.options.waitReplicas)
            throw new Error(`only ${acked} of ${this.options.waitReplicas} Redis replicas hold the batch`);
        }
        if (written > 0) metrics.entries.inc({ outcome: 'written' }, written);
        if (skipped > 0) {
          metrics.entries.inc({ outcome: 'skipped' }, skipped);
          logger.info(
            { batchId, skipped },
            'entries served again by Canal were already in the streams: skipped',
          );
        }
        this.status.written += written;
        this.status.skipped += skipped;
        if (lastTime !== undefined) {
          this.status.lastBinlogTime = lastTime;
          metrics.delay.set(Math.max(0, (Date.now() - lastTime) / 1000));
        }
        if (lastPosition !== undefined) this.status.lastPosition = lastPosition;
        return;
      } catch (error) {
        metrics.errors.inc({ reason: 'redis' });
        this.status.lastError = (error as Error).message;
        if (this.stopping)
          throw new Error('stopping with a batch not written: Canal serves it again', { cause: error });
        const delay = backoffDelay(attempt + 1, 100, this.options.retryMaxMs, Math.random);
        logger.warn(
          { err: error, batchId, retryInMs: delay },
          'writing a batch to the streams failed: retrying',
        );
        await sleep(delay);
      }
    }
  }
}
