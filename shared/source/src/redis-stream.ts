// Redis Streams as the source of changes (the design's Canal → Redis Stream → consumer path, for
// deployments without Kafka; layout in streams.ts, design in docs/redis-stream.md).
//
// Kafka gives each partition to one member of a group, and Sluice's replay rule (a partition's
// applied offset never goes back) relies on that: a partition's messages are handled in order by one
// process. A Redis consumer group hands entries to any consumer, so this source adds what Kafka has:
// each stream is read by one ingest at a time, under a lease (SET NX PX, renewed at a third of its
// time); replicas take at most their fair share of the streams (the readers hash counts them), and
// hand extra ones back when another replica joins. A stream taken over (its reader died, or gave it
// back) is first read from its pending entries (XAUTOCLAIM from 0-0), which come before any new one,
// then with XREADGROUP ">". An entry is acknowledged (XACK) only after the handler returned, i.e.
// after its changes are in the buffer and the backup. If two readers ever overlap (a lease lost
// while a batch was in flight), both handle the same entries in order: the versions refuse the
// repeats, nothing is lost.

import { randomUUID } from 'node:crypto';
import { errorMessage } from '@sluice/core';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { handleUntilDone } from './handle.ts';
import { releaseLease, renewLease, takeLease } from './lease.ts';
import type { BatchHandler, ChangeSource, PartitionLag, SourceMessage } from './source.ts';
import { adoptUntaggedStreams } from './stream-writer.ts';
import { entryOffset, fairShare, type StreamLayout, streamKey, streamLeaseKey } from './streams.ts';

/** On a Redis Cluster, the pause after a round of reads that found nothing (see pollEach). */
const CLUSTER_POLL_MS = 50;

export interface RedisStreamSourceOptions {
  /** Commands (leases, XACK, XAUTOCLAIM, XINFO). */
  redis: Redis | Cluster;
  /** A connection of its own for the blocking XREADGROUP. */
  blocking: Redis | Cluster;
  layout: StreamLayout;
  group: string;
  /** This process's consumer name in the group (unique per process). */
  consumer?: string;
  /** A new group starts at the streams' first entry (else at their end). */
  fromBeginning: boolean;
  /** Largest number of entries handed to the handler at once, per stream. */
  maxBatchMessages: number;
  leaseMs?: number;
  blockMs?: number;
  logger: Logger;
  /** Called when the set of streams held changes (cached per-partition state should be dropped). */
  onRebalance?: () => void;
}

type Entry = [id: string, fields: string[]];

function fieldsOf(fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i] as string] = fields[i + 1] as string;
  return out;
}

export class RedisStreamSource implements ChangeSource {
  private readonly options: Required<Omit<RedisStreamSourceOptions, 'onRebalance'>> &
    Pick<RedisStreamSourceOptions, 'onRebalance'>;
  /** Streams held now → whether their pending entries still have to be claimed first. */
  private readonly held = new Map<number, { claimCursor: string | null }>();
  private paused = false;
  private stopping = false;
  private joined = false;
  private leaseTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private readonly readersKey: string;

  constructor(options: RedisStreamSourceOptions) {
    this.options = {
      consumer: `${randomUUID()}`,
      leaseMs: 10_000,
      blockMs: 1000,
      ...options,
    };
    this.readersKey = `${options.layout.prefix}:${options.layout.cluster}:changes:readers`;
  }

  get consumer(): string {
    return this.options.consumer;
  }

  /** Creates the consumer group on every stream (idempotent) and takes this replica's streams. */
  async connect(): Promise<void> {
    const { redis, layout, group, fromBeginning } = this.options;
    const renamed = await adoptUntaggedStreams(redis, layout);
    if (renamed > 0) this.options.logger.info({ renamed }, 'streams of the earlier key layout renamed');
    for (let n = 0; n < layout.partitions; n++) {
      try {
        await redis.xgroup('CREATE', streamKey(layout, n), group, fromBeginning ? '0' : '$', 'MKSTREAM');
      } catch (error) {
        if (!/BUSYGROUP/.test(errorMessage(error))) throw error;
      }
    }
    await this.leaseRound();
    this.joined = true;
  }

  async run(handler: BatchHandler): Promise<void> {
    const every = Math.max(200, Math.floor(this.options.leaseMs / 3));
    this.leaseTimer = setInterval(() => {
      this.leaseRound().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'stream leases could not be renewed; retrying'),
      );
    }, every);
    this.loop = this.readLoop(handler);
  }

  /** One round of the lease protocol: say this reader lives, renew, give back extras, take a share. */
  private async leaseRound(): Promise<void> {
    const { redis, layout, consumer, leaseMs, logger } = this.options;
    const now = Date.now();
    await redis.hset(this.readersKey, consumer, String(now));
    const readers = Object.entries(await redis.hgetall(this.readersKey));
    const live = readers.filter(([, at]) => now - Number(at) <= leaseMs);
    const gone = readers.filter(([, at]) => now - Number(at) > 10 * leaseMs).map(([id]) => id);
    if (gone.length > 0) await redis.hdel(this.readersKey, ...gone);
    let changed = false;
    for (const n of [...this.held.keys()]) {
      const renewed = await renewLease(redis, streamLeaseKey(layout, n), consumer, leaseMs);
      if (!renewed) {
        this.held.delete(n);
        changed = true;
        logger.warn({ stream: streamKey(layout, n) }, 'stream lease lost: another reader has it now');
      }
    }
    if (this.stopping) return;
    const share = fairShare(layout.partitions, live.length);
    // Give back the highest-numbered extras (a new replica joined): it takes them at its next round.
    for (const n of [...this.held.keys()]
      .sort((a, b) => b - a)
      .slice(0, Math.max(0, this.held.size - share))) {
      await releaseLease(redis, streamLeaseKey(layout, n), consumer);
      this.held.delete(n);
      changed = true;
      logger.info({ stream: streamKey(layout, n), share }, 'stream handed back for a fair share');
    }
    // Take free streams up to the share, starting at a place of our own so replicas spread out.
    const start = [...consumer].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % layout.partitions;
    for (let i = 0; i < layout.partitions && this.held.size < share; i++) {
      const n = (start + i) % layout.partitions;
      if (this.held.has(n)) continue;
      const taken = await takeLease(redis, streamLeaseKey(layout, n), consumer, leaseMs);
      if (!taken) continue;
      this.held.set(n, { claimCursor: '0-0' });
      changed = true;
      logger.info({ stream: streamKey(layout, n) }, 'stream taken: its pending entries first');
    }
    if (changed) this.options.onRebalance?.();
  }

  private async readLoop(handler: BatchHandler): Promise<void> {
    const { logger } = this.options;
    while (!this.stopping) {
      try {
        if (this.paused || this.held.size === 0) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        const batches = await this.nextBatches();
        await Promise.all(batches.map((b) => this.handle(b.partition, b.entries, handler)));
      } catch (error) {
        if (this.stopping) break;
        logger.warn({ err: error }, `reading the streams failed, retrying: ${errorMessage(error)}`);
        // A batch may have been handled without its XACK (Redis went away in between): its entries
        // stay pending for this consumer, which XREADGROUP ">" never gives again. Claim every held
        // stream's pending entries first again; what was handled already is refused by version.
        for (const state of this.held.values()) state.claimCursor = '0-0';
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Pending entries of streams just taken (in id order), else new entries of every held stream. */
  private async nextBatches(): Promise<Array<{ partition: number; entries: Entry[] }>> {
    const { redis, blocking, layout, group, consumer, maxBatchMessages, blockMs } = this.options;
    const claiming = [...this.held].filter(([, s]) => s.claimCursor !== null);
    if (claiming.length > 0) {
      const out: Array<{ partition: number; entries: Entry[] }> = [];
      for (const [n, state] of claiming) {
        const [cursor, entries] = (await redis.xautoclaim(
          streamKey(layout, n),
          group,
          consumer,
          0,
          state.claimCursor as string,
          'COUNT',
          maxBatchMessages,
        )) as [string, Entry[]];
        state.claimCursor = cursor === '0-0' ? null : cursor;
        if (entries.length > 0) out.push({ partition: n, entries });
      }
      return out;
    }
    const partitions = [...this.held.keys()];
    const keys = partitions.map((n) => streamKey(layout, n));
    if (blocking.isCluster) return this.pollEach(partitions, keys);
    const reply = (await blocking.xreadgroup(
      'GROUP',
      group,
      consumer,
      'COUNT',
      maxBatchMessages,
      'BLOCK',
      blockMs,
      'STREAMS',
      ...keys,
      ...keys.map(() => '>'),
    )) as Array<[string, Entry[]]> | null;
    if (!reply) return [];
    return reply.map(([key, entries]) => ({ partition: partitions[keys.indexOf(key)] as number, entries }));
  }

  /**
   * On a Redis Cluster the streams are in other slots, and one XREADGROUP reads streams of one slot
   * only: each stream is read without blocking, side by side, and when none had anything the next
   * round waits a little (at most CLUSTER_POLL_MS of added latency).
   */
  private async pollEach(
    partitions: number[],
    keys: string[],
  ): Promise<Array<{ partition: number; entries: Entry[] }>> {
    const { redis, group, consumer, maxBatchMessages, blockMs } = this.options;
    const replies = await Promise.all(
      keys.map(
        (key) =>
          redis.xreadgroup(
            'GROUP',
            group,
            consumer,
            'COUNT',
            maxBatchMessages,
            'STREAMS',
            key,
            '>',
          ) as Promise<Array<[string, Entry[]]> | null>,
      ),
    );
    const out: Array<{ partition: number; entries: Entry[] }> = [];
    replies.forEach((reply, i) => {
      const entries = reply?.[0]?.[1];
      if (entries && entries.length > 0) out.push({ partition: partitions[i] as number, entries });
    });
    if (out.length === 0)
      await new Promise((resolve) => setTimeout(resolve, Math.min(blockMs, CLUSTER_POLL_MS)));
    return out;
  }

  private async handle(partition: number, entries: Entry[], handler: BatchHandler): Promise<void> {
    const { redis, layout, group, logger } = this.options;
    const key = streamKey(layout, partition);
    const messages: SourceMessage[] = [];
    const malformed: string[] = [];
    for (const [id, fields] of entries) {
      const offset = entryOffset(id);
      // A claimed entry that was trimmed away comes back without fields: nothing left to read.
      if (offset === undefined || fields === null) {
        malformed.push(id);
        continue;
      }
      const f = fieldsOf(fields);
      messages.push({
        offset,
        value: f.m === undefined ? null : Buffer.from(f.m, 'utf8'),
        timestamp: Number(f.ts ?? 0),
      });
    }
    if (malformed.length > 0)
      logger.error(
        { stream: key, ids: malformed.slice(0, 10), count: malformed.length },
        'stream entries not written by sluice relay (id not "<seq>-0") or trimmed before they were read: skipped',
      );
    if (messages.length > 0) {
      const handled = await handleUntilDone({ topic: key, partition, messages }, handler, {
        logger,
        stillOurs: () => this.held.has(partition) && !this.stopping,
      });
      if (!handled) return; // left pending: the stream's next reader claims them
    }
    await redis.xack(key, group, ...entries.map(([id]) => id));
  }

  /** Entries of each held stream not yet acknowledged by the group (XINFO GROUPS lag + pending). */
  async lag(): Promise<PartitionLag[]> {
    const { redis, layout, group } = this.options;
    const out: PartitionLag[] = [];
    for (const n of [...this.held.keys()].sort((a, b) => a - b)) {
      const key = streamKey(layout, n);
      const groups = (await redis.xinfo('GROUPS', key)) as unknown[][];
      for (const g of groups) {
        const info = fieldsOf(g.map(String));
        if (info.name !== group) continue;
        const unread = info.lag === undefined || info.lag === '' ? 0 : Number(info.lag);
        out.push({ topic: key, partition: n, lag: unread + Number(info.pending ?? 0) });
      }
    }
    return out;
  }

  /** The streams this replica reads now. */
  heldStreams(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  isPaused(): boolean {
    return this.paused;
  }

  hasJoined(): boolean {
    return this.joined;
  }

  /** Finishes the batches in flight (their XACK included), gives the streams back and leaves. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    await this.loop?.catch(() => undefined);
    const { redis, layout, consumer } = this.options;
    for (const n of this.held.keys()) await releaseLease(redis, streamLeaseKey(layout, n), consumer);
    this.held.clear();
    await redis.hdel(this.readersKey, consumer);
  }
}
