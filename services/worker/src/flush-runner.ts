// One shard's flush: take the oldest due records, write them in bulk with external versions, then
// settle every record by its outcome:
//   done (written, already newer, already deleted) → compare-and-delete from the buffer, backup synced
//   retryable (429, 5xx, timeouts)                  → stays buffered, attempt count and backoff
//   permanent (mapping errors, …)                   → dead letter with the reason, out of the buffer
// The guard is checked before every write: a flush that lost its lock or its assignment stops there.
import { randomUUID } from 'node:crypto';
import type { BackupSettler, DeadLetterInput, DeadLetterSink, SyncMonitorSink } from '@sluice/backup';
import type { BufferedRecord, ShardBuffer } from '@sluice/buffer';
import { errorMessage, FencedError, type Mapping, retry } from '@sluice/core';
import type { FlushMetrics, Logger } from '@sluice/runtime';
import { buildBulkChunks, classifyBulkResponse, type EsApi, type IndexManager } from '@sluice/sink';
import { planOps } from './ops.ts';
import type { ResetHandler } from './table-resets.ts';

export interface FlushDeps {
  buffer: ShardBuffer;
  backup: BackupSettler;
  deadLetters: DeadLetterSink;
  monitor: SyncMonitorSink;
  es: EsApi;
  indices: IndexManager;
  mapping: Mapping;
  metrics: FlushMetrics;
  logger: Logger;
  /** TRUNCATE / DROP TABLE: sweeps and validation of older changes (table-resets.ts); absent without a source MySQL. */
  resets?: ResetHandler;
}

export interface FlushSettings {
  workerId: string;
  batchSize: number;
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

/** The HTTP status of a failed request; 0 when there was none (refused, reset, timed out). */
function statusOf(error: unknown): number {
  return (error as { meta?: { statusCode?: number | null } }).meta?.statusCode ?? 0;
}

/** No HTTP status at all: Elasticsearch could not be reached. */
function unreachableError(error: unknown): boolean {
  return !(error instanceof FencedError) && statusOf(error) === 0;
}

/** Request-level errors worth retrying: no HTTP status (connection, timeout), 429 and 5xx. */
function retryableRequestError(error: unknown): boolean {
  if (error instanceof FencedError) return false;
  const status = statusOf(error);
  return status === 0 || status === 429 || status >= 500;
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
    for (;;) {
      await guard.check();
      const taken = await this.deps.buffer.takeDue(shard, this.settings.batchSize);
      if (taken.length === 0) break;
      const records = this.deps.resets ? await this.deps.resets.validate(taken, fences) : taken;
      const summary = await this.flushBatch(shard, records, guard);
      total.batches++;
      for (const key of ['records', 'written', 'refused', 'absent', 'retried', 'dead', 'ignored'] as const) {
        total[key] += summary[key];
      }
      total.failed ||= summary.failed;
      if (records.length < this.settings.batchSize || summary.failed || Date.now() >= deadline) break;
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
      if (unreachableError(error)) return;
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
    const { es, indices, metrics, logger } = this.deps;
    const startTime = Date.now();
    const log = logger.child({ shard, batch: randomUUID() });
    const planned = planOps(records, this.deps.mapping);
    const done: Done[] = planned.ignored.map((record) => ({ record, result: 'ignored' }));
    const dead: Dead[] = planned.unmapped.map((record) => ({
      record,
      reason: 'unmapped_table',
      detail: `no mapping covers ${record.tableKey}`,
    }));
    const retryLater: BufferedRecord[] = [];
    const byRef = new Map(records.map((r) => [r.field, r]));
    let error: string | undefined;
    let fenced: unknown;
    let bytes = 0;

    try {
      for (const spec of planned.indices.values()) await indices.ensure(spec);
      for (const chunk of buildBulkChunks(planned.ops, this.settings.bulkMaxBytes)) {
        const chunkRecords = chunk.ops.map((op) => byRef.get(op.ref) as BufferedRecord);
        await guard.check();
        let body: unknown;
        try {
          const response = await retry(
            'bulk request',
            async () => {
              await guard.check();
              return es.request({ method: 'POST', path: '/_bulk', bulkBody: chunk.body });
            },
            {
              attempts: this.settings.maxRetry + 1,
              baseDelayMs: 200,
              maxDelayMs: 5000,
              shouldRetry: retryableRequestError,
            },
          );
          body = response.body;
          bytes += chunk.bytes;
          this.unreachable.delete(shard);
        } catch (requestError) {
          if (requestError instanceof FencedError) throw requestError;
          if (unreachableError(requestError)) this.unreachable.add(shard);
          error = errorMessage(requestError);
          retryLater.push(...chunkRecords);
          continue;
        }
        for (const { op, outcome } of classifyBulkResponse(
          chunk.ops,
          body as Parameters<typeof classifyBulkResponse>[1],
        )) {
          const record = byRef.get(op.ref) as BufferedRecord;
          if (outcome.kind === 'done') done.push({ record, result: outcome.result });
          else if (outcome.kind === 'retry') retryLater.push(record);
          else dead.push({ record, reason: outcome.reason, detail: outcome.detail });
        }
      }
    } catch (caught) {
      // Fenced (or the index could not be made): settle what was written, leave the rest buffered.
      if (caught instanceof FencedError) fenced = caught;
      else {
        error = errorMessage(caught);
        const settled = new Set([...done, ...dead].map((d) => d.record.field));
        for (const record of records)
          if (!settled.has(record.field) && !retryLater.includes(record)) retryLater.push(record);
      }
    }

    await this.settle(shard, done, dead, fenced ? [] : retryLater, log);

    const summary: FlushSummary = {
      batches: 1,
      records: records.length,
      written: done.filter((d) => d.result === 'written').length,
      refused: done.filter((d) => d.result === 'refused').length,
      absent: done.filter((d) => d.result === 'absent').length,
      ignored: done.filter((d) => d.result === 'ignored').length,
      retried: fenced ? 0 : retryLater.length,
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
    const status = error
      ? done.length > 0
        ? 'partial'
        : 'failed'
      : retryLater.length || dead.length
        ? 'partial'
        : 'ok';
    metrics.batches.inc({ status });
    metrics.duration.observe({ shard: String(shard) }, (now - startTime) / 1000);
    if (error) log.warn({ error, retried: retryLater.length }, 'flush batch failed: records stay buffered');
    try {
      await this.deps.monitor.record({
        shard,
        batchId: randomUUID(),
        worker: this.settings.workerId,
        tables: [...new Set(records.map((r) => r.tableKey))],
        records: records.length,
        succeeded: done.length,
        refused: summary.refused,
        retried: summary.retried,
        dead: dead.length,
        bytes,
        startTime,
        endTime: now,
        status,
        ...(error ? { error } : {}),
      });
    } catch (monitorError) {
      log.warn({ err: monitorError }, 'could not record the flush in sync_monitor');
    }
    if (fenced) throw fenced;
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
          payload: JSON.stringify({
            tableKey: record.tableKey,
            pk: record.pk,
            version: record.version,
            op: record.op,
            sourceTs: record.sourceTs,
            document: record.json === '' ? null : JSON.parse(record.json),
          }),
        })),
      );
      for (const d of dead) metrics.dlq.inc({ reason: d.reason });
      log.warn(
        { dead: dead.map((d) => ({ field: d.record.field, reason: d.reason, detail: d.detail })) },
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
