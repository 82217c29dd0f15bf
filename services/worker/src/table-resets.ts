// TRUNCATE and DROP TABLE on the flush path (docs/types.md, "DDL"). Canal publishes DDL to partition
// 0 and a table's rows to the table's partition, so Kafka offsets cannot order a TRUNCATE against the
// rows around it. Sluice orders them by the source itself, which has already applied the statement:
//   sweep     the shard's owner removes every document of the table whose row no longer exists in
//             MySQL, each deleted at the very version it read (external_gte): a newer write of the
//             row is never removed, and a stale one is refused by the tombstone
//   validate  a buffered upsert from at or before the statement's binlog time (its fence) is written
//             only if its row exists; otherwise it is written as a delete at its own version, so a
//             change from before the TRUNCATE that arrives late never brings a row back
import type { DeadLetterSink, ResetSource, Sweep } from '@sluice/backup';
import type { BufferedRecord } from '@sluice/buffer';
import { KeyNotComparableError, type SourceRows } from '@sluice/checker';
import { errorMessage, type Mapping, shardOfRow, splitTableKey } from '@sluice/core';
import type { FlushMetrics, Logger } from '@sluice/runtime';
import { type BulkOp, buildBulkChunks, classifyBulkResponse, type EsApi, scrollIndex } from '@sluice/sink';

export interface TableResetDeps {
  resets: ResetSource;
  rows: SourceRows;
  es: EsApi;
  mapping: Mapping;
  deadLetters: DeadLetterSink;
  metrics: Pick<FlushMetrics, 'sweep'>;
  logger: Logger;
}

export interface TableResetSettings {
  shards: number;
  bulkMaxBytes: number;
}

/** Table key → fence (binlog time, ms) of its newest TRUNCATE / DROP TABLE. */
export type Fences = ReadonlyMap<string, number>;

/** What the flush runner needs. */
export interface ResetHandler {
  /** Runs the shard's pending sweeps; returns the fences to validate this flush's records with. */
  prepare(shard: number, check: () => void | Promise<void>): Promise<Fences>;
  validate(records: BufferedRecord[], fences: Fences): Promise<BufferedRecord[]>;
}

export class TableResets implements ResetHandler {
  private readonly deps: TableResetDeps;
  private readonly settings: TableResetSettings;

  constructor(deps: TableResetDeps, settings: TableResetSettings) {
    this.deps = deps;
    this.settings = settings;
  }

  async prepare(shard: number, check: () => void | Promise<void>): Promise<Fences> {
    const fences = await this.deps.resets.fences();
    if (fences.size === 0) return fences;
    for (const sweep of await this.deps.resets.pendingSweeps(shard)) {
      await check();
      try {
        await this.sweep(sweep, check);
      } catch (error) {
        if (!(error instanceof KeyNotComparableError)) throw error;
        // Cannot be done by any retry: a human removes the documents.
        await this.deps.deadLetters.add([
          {
            stage: 'flush',
            reason: 'truncate_not_applied',
            detail: errorMessage(error),
            tableName: sweep.tableName,
            payload: null,
          },
        ]);
      }
      await this.deps.resets.sweepDone(sweep);
    }
    return fences;
  }

  async validate(records: BufferedRecord[], fences: Fences): Promise<BufferedRecord[]> {
    if (fences.size === 0) return records;
    const suspects = new Map<string, BufferedRecord[]>();
    for (const record of records) {
      const fence = fences.get(record.tableKey);
      if (fence === undefined || record.op !== 'upsert' || record.sourceTs > fence) continue;
      const list = suspects.get(record.tableKey) ?? [];
      list.push(record);
      suspects.set(record.tableKey, list);
    }
    if (suspects.size === 0) return records;
    const gone = new Set<BufferedRecord>();
    for (const [tableKey, list] of suspects) {
      let existing: Set<string>;
      try {
        existing = await this.deps.rows.existing(
          tableKey,
          list.map((r) => r.pk),
        );
      } catch (error) {
        if (!(error instanceof KeyNotComparableError)) throw error;
        continue; // written as they are (the sweep's dead letter says why)
      }
      for (const record of list) if (!existing.has(record.pk)) gone.add(record);
    }
    if (gone.size === 0) return records;
    this.deps.metrics.sweep.inc({ result: 'buffered_deleted' }, gone.size);
    this.deps.logger.info(
      { records: gone.size, tables: [...new Set([...gone].map((r) => r.tableKey))] },
      'changes from before a TRUNCATE / DROP TABLE whose rows are gone are written as deletes',
    );
    return records.map((r) => (gone.has(r) ? { ...r, op: 'delete', json: '' } : r));
  }

  private async sweep(sweep: Sweep, check: () => void | Promise<void>): Promise<void> {
    const { es, mapping, rows, metrics, logger } = this.deps;
    const { database, table } = splitTableKey(sweep.tableName);
    const route = mapping.route(database, table);
    if (route.action !== 'index') return;
    const { index, rowSharded } = route.mapping;
    const log = logger.child({ shard: sweep.shard, table: sweep.tableName, index });
    let checked = 0;
    let removed = 0;
    try {
      for await (const hits of scrollIndex(es, index, { source: false, pageSize: 1000 })) {
        const mine = rowSharded
          ? hits.filter((h) => shardOfRow(sweep.tableName, h._id, this.settings.shards) === sweep.shard)
          : hits;
        checked += mine.length;
        const existing = await rows.existing(
          sweep.tableName,
          mine.map((h) => h._id),
        );
        const ops: BulkOp[] = mine
          .filter((h) => !existing.has(h._id) && h._version !== undefined)
          .map((h) => ({
            ref: h._id,
            index,
            id: h._id,
            version: h._version as number,
            op: 'delete',
            json: '',
            versionType: 'external_gte',
          }));
        for (const chunk of buildBulkChunks(ops, this.settings.bulkMaxBytes)) {
          await check();
          const response = await es.request({ method: 'POST', path: '/_bulk', bulkBody: chunk.body });
          for (const { outcome } of classifyBulkResponse(
            chunk.ops,
            response.body as Parameters<typeof classifyBulkResponse>[1],
          )) {
            if (outcome.kind !== 'done') {
              throw new Error(`a sweep delete was not applied (${outcome.kind}: ${outcome.reason})`);
            }
            if (outcome.result === 'written') removed++;
          }
        }
      }
    } catch (error) {
      log.warn({ err: error, checked, removed }, 'sweep after TRUNCATE / DROP TABLE failed: it runs again');
      throw error;
    } finally {
      metrics.sweep.inc({ result: 'checked' }, checked);
      metrics.sweep.inc({ result: 'removed' }, removed);
    }
    log.info({ checked, removed }, 'documents of rows gone after TRUNCATE / DROP TABLE removed');
  }
}
