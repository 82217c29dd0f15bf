// One shard's flush: take the oldest due records, write them in bulk with external versions, then
// settle every record by its outcome:
//   done (written, already newer, already deleted) → compare-and-delete from the buffer, backup synced
//   retryable (429, 5xx, timeouts)                  → stays buffered, attempt count and backoff
//   permanent (mapping errors, …)                   → dead letter with the reason, out of the buffer
// The guard is checked before every write: a flush that lost its lock or its assignment stops there.
import { randomUUID } from 'node:crypto';
import type {
  BackupSettler,
  DeadLetterInput,
  DeadLetterSink,
  DualWriteTargets,
  SyncMonitorSink,
} from '@sluice/backup';
import type { BufferedRecord, ShardBuffer } from '@sluice/buffer';
import { errorMessage, FencedError, type Mapping, retry, shardLabel } from '@sluice/core';
import { deadLetterRecord } from '@sluice/pipeline';
import type { FlushMetrics, Logger } from '@sluice/runtime';
import {
  type BulkOp,
  buildBulkChunks,
  classifyBulkResponse,
  type EsApi,
  type IndexManager,
  type ItemOutcome,
  isUnreachable,
} from '@sluice/sink';
import { planOps } from './ops.ts';
import type { ResetHandler } from './table-resets.ts';

export interface FlushDeps {
  buffer: ShardBuffer;
  backup: BackupSettler;
  deadLetters: DeadLetterSink;
  monitor: SyncMonitorSink;
  es: EsApi;
  indices: Pick<IndexManager, 'ensure'>;
  mapping: Mapping;
  metrics: FlushMetrics;
  logger: Logger;
  /** TRUNCATE / DROP TABLE: sweeps and validation of older changes (table-resets.ts); absent without a source MySQL. */
  resets?: ResetHandler;
  /** The indices reindexes are building (alias → target), read after each batch is taken. */
  rebuilding?: DualWriteTargets;
}

export interface FlushSettings {
  workerId: string;
  /** Documents per bulk request. */
  batchSize: number;
  /** Bulk requests in flight at once for a shard: a flush takes batchSize × this many records. */
  bulkConcurrency: number;
  windowMs: number;
  maxRetry: number;
  bulkMaxBytes: number;
}

/** Throws a FencedError when the flush must not write any more (lock lost, assignment moved, draining). */
export interface FlushGuard {
  check(): void | Promise<void>;
}

export interface FlushSummary {
  batches: number;
  records: number;
  written: number;
  refused: number;
  absent: number;
  retried: number;
  dead: number;
  ignored: number;
  failed: boolean;
}

type Done = { record: BufferedRecord; result: 'written' | 'refused' | 'absent' | 'ignored' };
type Dead = { record: BufferedRecord; reason: DeadLetterInput['reason']; detail: string };

/** What the writes of one batch came to, record by record. */
interface BatchOutcome {
  done: Done[];
  dead: Dead[];
  retryLater: BufferedRecord[];
  /** The last request-level failure, when there was one. */
  error?: string;
  /** Set when the flush lost its right to write: what was not written stays buffered as it is. */
  fenced?: FencedError;
  bytes: number;
}

const COUNTED = ['records', 'written', 'refused', 'absent', 'retried', 'dead', 'ignored'] as const;

function emptySummary(): FlushSummary {
  return {
    batches: 0,
    records: 0,
    written: 0,
    refused: 0,
    absent: 0,
    retried: 0,
    dead: 0,
    ignored: 0,
    failed: false,
  };
}

/** sync_monitor's status of a batch: ok, partial (some records wait or were dead-lettered), failed. */
export function batchStatus(
  outcome: Pick<BatchOutcome, 'done' | 'dead' | 'retryLater' | 'error'>,
): 'ok' | 'partial' | 'failed' {
  if (outcome.error) return outcome.done.length > 0 ? 'partial' : 'failed';
  return outcome.retryLater.length > 0 || outcome.dead.length > 0 ? 'partial' : 'ok';
}

export class FlushRunner {
  private readonly deps: FlushDeps;
  private readonly settings: FlushSettings;
  /**
   * Shards whose last bulk request could not reach Elasticsearch. Their records wait out a backoff;
   * once Elasticsearch answers again the backoff is cut short, so an outage ends within a window.
   */
  private readonly unreachable = new Set<number>();

  constructor(deps: FlushDeps, settings: FlushSettings) {
    this.deps = deps;
    this.settings = settings;
  }

  /** Flushes while the shard has full batches due, for at most one window. */
  async flushShard(shard: number, guard: FlushGuard): Promise<FlushSummary> {
    const total = emptySummary();
    const deadline = Date.now() + this.settings.windowMs;
    if (this.unreachable.has(shard)) await this.releaseIfReachable(shard);
    const fences = this.deps.resets ? await this.deps.resets.prepare(shard, () => guard.check()) : new Map();
    const take = this.settings.batchSize * this.settings.bulkConcurrency;
    for (;;) {
      await guard.check();
      const taken = await this.deps.buffer.takeDue(shard, take);
      if (taken.length === 0) break;
      const records = this.deps.resets ? await this.deps.resets.validate(taken, fences) : taken;
      const summary = await this.flushBatch(shard, records, guard);
      total.batches++;
      for (const key of COUNTED) total[key] += summary[key];
      total.failed ||= summary.failed;
      if (taken.length < take || summary.failed || Date.now() >= deadline) break;
    }
    return total;
  }

  /** Elasticsearch answers (with any HTTP status, within 2 s): the shard's records put aside are due now. */
  private async releaseIfReachable(shard: number): Promise<void> {
    try {
      await this.deps.es.request(
        { method: 'GET', path: '/_cluster/health' },
        { signal: AbortSignal.timeout(2000) },
      );
    } catch (error) {
      if (isUnreachable(error)) return;
    }
    this.unreachable.delete(shard);
    const released = await this.deps.buffer.releaseDelayed(shard);
    if (released > 0)
      this.deps.logger.info(
        { shard, released },
        'Elasticsearch answers again: records put aside are retried now',
      );
  }

  private async flushBatch(
    shard: number,
    records: BufferedRecord[],
    guard: FlushGuard,
  ): Promise<FlushSummary> {
    // Every line about this batch names it as sync_monitor does, and the tables it holds.
    const batch = {
      id: randomUUID(),
      tables: [...new Set(records.map((r) => r.tableKey))],
      startTime: Date.now(),
    };
    const log = this.deps.logger.child({ shard, batch: batch.id, tables: batch.tables });
    const outcome = await this.write(shard, records, guard);
    await this.settle(shard, outcome.done, outcome.dead, outcome.fenced ? [] : outcome.retryLater, log);
    const summary = await this.report(shard, batch, records, outcome, log);
    if (outcome.fenced) throw outcome.fenced;
    return summary;
  }

  /**
   * Plans and writes the batch chunk by chunk; each record ends done, dead or to retry later. A record
   * written twice (to an alias and to the index a reindex builds for it) is done when both writes
   * are; either one's permanent failure dead-letters it, either one's retriable failure retries it.
   */
  private async write(shard: number, records: BufferedRecord[], guard: FlushGuard): Promise<BatchOutcome> {
    const rebuilding = this.deps.rebuilding ? await this.deps.rebuilding.current() : undefined;
    const planned = planOps(records, this.deps.mapping, rebuilding);
    const outcome: BatchOutcome = {
      done: planned.ignored.map((record) => ({ record, result: 'ignored' })),
      dead: planned.unmapped.map((record) => ({
        record,
        reason: 'unmapped_table',
        detail: `no mapping covers ${record.tableKey}`,
      })),
      retryLater: [],
      bytes: 0,
    };
    const byRef = new Map(records.map((r) => [r.field, r]));
    const written = new Writes(planned.ops, planned.copies);
    try {
      for (const spec of planned.indices.values()) await this.deps.indices.ensure(spec);
      // The records of a take are distinct rows: their bulk requests may run side by side (each
      // document's external version still decides, whatever the order they arrive in).
      const chunks = buildBulkChunks(planned.ops, this.settings.bulkMaxBytes, this.settings.batchSize);
      let next = 0;
      let fenced: FencedError | undefined;
      const lane = async () => {
        while (next < chunks.length && !fenced) {
          const chunk = chunks[next++] as (typeof chunks)[number];
          let body: unknown;
          try {
            await guard.check();
            body = await this.bulk(chunk.body, guard);
            outcome.bytes += chunk.bytes;
            this.unreachable.delete(shard);
          } catch (requestError) {
            if (requestError instanceof FencedError) {
              fenced = requestError;
              return;
            }
            if (isUnreachable(requestError)) this.unreachable.add(shard);
            outcome.error = errorMessage(requestError);
            for (const op of chunk.ops) written.failed(op);
            continue;
          }
          for (const { op, outcome: item } of classifyBulkResponse(
            chunk.ops,
            body as Parameters<typeof classifyBulkResponse>[1],
          )) {
            written.add(op, item);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.settings.bulkConcurrency, chunks.length) }, lane));
      if (fenced) throw fenced;
    } catch (caught) {
      // Fenced: settle what was written, leave the rest buffered as it is. Any other failure (the
      // index could not be made): what is not settled yet is retried later.
      if (caught instanceof FencedError) outcome.fenced = caught;
      else outcome.error = errorMessage(caught);
    }
    for (const [ref, settled] of written.byRecord()) {
      const record = byRef.get(ref) as BufferedRecord;
      if (settled.kind === 'done') outcome.done.push({ record, result: settled.result });
      else if (settled.kind === 'dead')
        outcome.dead.push({ record, reason: settled.reason, detail: settled.detail });
      else if (settled.kind === 'retry' || !outcome.fenced) outcome.retryLater.push(record);
    }
    return outcome;
  }

  /** One bulk request, retried as its errors' `retriable` says (the guard is checked before each try). */
  private async bulk(body: string, guard: FlushGuard): Promise<unknown> {
    const response = await retry(
      'bulk request',
      async () => {
        await guard.check();
        return this.deps.es.request({ method: 'POST', path: '/_bulk', bulkBody: body });
      },
      { attempts: this.settings.maxRetry + 1, baseDelayMs: 200, maxDelayMs: 5000 },
    );
    return response.body;
  }

  /** Metrics, the summary, and the batch's row in sync_monitor (under the id the logs carry). */
  private async report(
    shard: number,
    batch: { id: string; tables: string[]; startTime: number },
    records: BufferedRecord[],
    outcome: BatchOutcome,
    log: Logger,
  ): Promise<FlushSummary> {
    const { id: batchId, tables, startTime } = batch;
    const { metrics } = this.deps;
    const { done, dead, error, fenced } = outcome;
    const count = (result: Done['result']) => done.filter((d) => d.result === result).length;
    const summary: FlushSummary = {
      batches: 1,
      records: records.length,
      written: count('written'),
      refused: count('refused'),
      absent: count('absent'),
      ignored: count('ignored'),
      retried: fenced ? 0 : outcome.retryLater.length,
      dead: dead.length,
      failed: error !== undefined,
    };
    const now = Date.now();
    for (const d of done) {
      if (d.result !== 'written') continue;
      const seconds = (now - d.record.sourceTs) / 1000;
      metrics.latency.observe(seconds);
      metrics.latencyRecent.observe(seconds);
    }
    for (const key of ['written', 'refused', 'absent', 'ignored', 'retried', 'dead'] as const) {
      if (summary[key]) metrics.docs.inc({ result: key === 'retried' ? 'retry' : key }, summary[key]);
    }
    const status = batchStatus(outcome);
    metrics.batches.inc({ status });
    metrics.duration.observe({ shard: shardLabel(shard) }, (now - startTime) / 1000);
    if (error)
      log.warn(
        { err: { message: error }, retried: summary.retried },
        'flush batch failed: records stay buffered',
      );
    try {
      await this.deps.monitor.record({
        shard,
        batchId,
        worker: this.settings.workerId,
        tables,
        records: records.length,
        succeeded: done.length,
        refused: summary.refused,
        retried: summary.retried,
        dead: dead.length,
        bytes: outcome.bytes,
        startTime,
        endTime: now,
        status,
        ...(error ? { error } : {}),
      });
    } catch (monitorError) {
      log.warn({ err: monitorError }, 'could not record the flush in sync_monitor');
    }
    return summary;
  }

  private async settle(
    shard: number,
    done: Done[],
    dead: Dead[],
    retryLater: BufferedRecord[],
    log: Logger,
  ): Promise<void> {
    const { buffer, backup, deadLetters, metrics } = this.deps;
    if (dead.length > 0) {
      await deadLetters.add(
        dead.map(({ record, reason, detail }) => ({
          stage: 'flush' as const,
          reason,
          detail,
          tableName: record.tableKey,
          primaryKey: record.pk,
          version: record.version,
          payload: deadLetterRecord(record),
        })),
      );
      for (const d of dead) metrics.dlq.inc({ reason: d.reason });
      log.warn(
        {
          dead: dead.map((d) => ({
            table: d.record.tableKey,
            field: d.record.field,
            reason: d.reason,
            detail: d.detail,
          })),
        },
        'records dead-lettered',
      );
    }
    const settled = [...done, ...dead].map((d) => d.record);
    if (settled.length > 0) {
      await buffer.ack(
        shard,
        settled.map((r) => ({ field: r.field, version: r.version })),
      );
      const rows = (list: Array<{ record: BufferedRecord }>) =>
        list.map(({ record }) => ({
          tableName: record.tableKey,
          primaryKey: record.pk,
          version: record.version,
        }));
      await backup.settle(shard, rows(done), 'synced');
      if (dead.length > 0) await backup.settle(shard, rows(dead), 'dead');
    }
    if (retryLater.length > 0) {
      await buffer.retryLater(
        shard,
        retryLater.map((r) => ({ field: r.field, version: r.version })),
      );
    }
  }
}

/** Where a record stands after its operations' outcomes (unsettled: some were never answered). */
type RecordOutcome = ItemOutcome | { kind: 'unsettled' };

const SEVERITY: Record<ItemOutcome['kind'], number> = { done: 0, retry: 1, dead: 2 };

/**
 * The outcomes of a batch's operations, folded per record: its own operation gives the result; a
 * copy (reindex) can only make it worse — dead before retry before done.
 */
class Writes {
  private readonly copies: ReadonlySet<BulkOp>;
  private readonly pending = new Map<string, number>();
  private readonly outcomes = new Map<string, RecordOutcome>();

  constructor(ops: readonly BulkOp[], copies: ReadonlySet<BulkOp>) {
    this.copies = copies;
    for (const op of ops) {
      this.pending.set(op.ref, (this.pending.get(op.ref) ?? 0) + 1);
      this.outcomes.set(op.ref, { kind: 'unsettled' });
    }
  }

  add(op: BulkOp, item: ItemOutcome): void {
    this.pending.set(op.ref, (this.pending.get(op.ref) ?? 1) - 1);
    const before = this.outcomes.get(op.ref) as RecordOutcome;
    const copy = this.copies.has(op);
    const marked: ItemOutcome =
      copy && item.kind === 'dead' ? { ...item, detail: `reindex target ${op.index}: ${item.detail}` } : item;
    const worse = before.kind === 'unsettled' || SEVERITY[marked.kind] > SEVERITY[before.kind];
    const ownResult = before.kind === 'done' && marked.kind === 'done' && !copy;
    if (worse || ownResult) this.outcomes.set(op.ref, marked);
  }

  /** The chunk holding `op` failed as a whole. */
  failed(op: BulkOp): void {
    this.add(op, { kind: 'retry', status: 0, reason: 'bulk request failed' });
  }

  /** Each record's outcome; `unsettled` for those with an operation never answered. */
  *byRecord(): Iterable<[string, RecordOutcome]> {
    for (const [ref, outcome] of this.outcomes) {
      yield [
        ref,
        (this.pending.get(ref) ?? 0) > 0 && outcome.kind === 'done' ? { kind: 'unsettled' } : outcome,
      ];
    }
  }
}
