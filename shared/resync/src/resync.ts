// Re-syncing rows from the source MySQL through the normal path — the buffer (compare-by-version),
// the backup, the workers' flush — online, while the binlog keeps flowing and is never paused. Each
// chunk of rows is written with the version of rule.ts, so a re-synced row can never beat a newer
// change. A backfill walks a whole table in primary-key order and checkpoints after every chunk: a
// killed backfill resumes after the last key it stored, not from the start.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupWriter } from '@sluice/backup';
import type { BufferWriter } from '@sluice/buffer';
import { readRowChunk, type SourceRow, type TableShape, tableShape } from '@sluice/checker';
import { type Mapping, shardOf, splitTableKey, type TableMapping } from '@sluice/core';
import { storedForms } from '@sluice/pipeline';
import type { Logger } from '@sluice/runtime';
import type { Pool } from 'mysql2/promise';
import { resyncVersion } from './rule.ts';

/** End offsets (the offset the next message gets) of every partition of the topics. */
export interface PartitionEnds {
  ends(topics: readonly string[]): Promise<Array<{ topic: string; partition: number; end: number }>>;
}

/** Where ingest first saw a table in a generation (backup `source_tables`). */
export interface TablePlaces {
  tablePlace(
    tableName: string,
    generation: number,
  ): Promise<{ topic: string; partition: number } | undefined>;
}

export interface Checkpoint {
  /** The key of the last row done; undefined before the first chunk. */
  after: string[] | undefined;
  rows: number;
  startedAt: number;
}

export interface CheckpointStore {
  load(tableName: string, kind: 'backfill'): Promise<Checkpoint | undefined>;
  save(tableName: string, kind: 'backfill', after: readonly string[], rows: number): Promise<void>;
  finish(tableName: string, kind: 'backfill', rows: number): Promise<void>;
  /** Forgets the table's checkpoint (a backfill from the start). */
  reset(tableName: string, kind: 'backfill'): Promise<void>;
}

export interface ResyncDeps {
  source: Pool;
  mapping: Mapping;
  buffer: BufferWriter;
  backup: Pick<BackupWriter, 'commitBatch'>;
  ends: PartitionEnds;
  places: TablePlaces;
  checkpoints: CheckpointStore;
  logger: Logger;
  /** Runs after a chunk is read and before it is written (diagnostics; tests race changes here). */
  afterRead?: (tableKey: string, rows: readonly SourceRow[]) => Promise<void>;
}

export interface ResyncSettings {
  shards: number;
  generation: number;
  topics: readonly string[];
  /** Rows per chunk (one read, one buffer write, one backup transaction, one checkpoint). */
  chunkRows: number;
  /** Rows per second at most; 0: as fast as the buffer's watermark allows. */
  ratePerSecond: number;
  /** The backfill waits while the buffer holds this many records (ingest's high watermark). */
  highWatermark: number;
  /** How long to wait before looking at the buffer again (ms). */
  backpressureWaitMs?: number;
}

export interface ResyncProgress {
  tableKey: string;
  rows: number;
  /** Rows of the table as MySQL estimates them (information_schema), for the ETA. */
  estimate: number;
  /** Rows done before this run (a resumed backfill). */
  resumedAt: number;
  elapsedMs: number;
}

export interface BackfillResult extends ResyncProgress {
  refused: number;
}

export class Resync {
  private readonly deps: ResyncDeps;
  private readonly settings: ResyncSettings;

  constructor(deps: ResyncDeps, settings: ResyncSettings) {
    this.deps = deps;
    this.settings = settings;
  }

  /** The version rows read now are written with (rule.ts): below every change committed from now on. */
  async versionNow(tableKey: string): Promise<number> {
    const place = await this.deps.places.tablePlace(tableKey, this.settings.generation);
    const ends = await this.deps.ends.ends(this.settings.topics);
    const relevant = place
      ? ends.filter((e) => e.topic === place.topic && e.partition === place.partition)
      : ends;
    if (relevant.length === 0) {
      throw new Error(
        place
          ? `${tableKey} was seen in ${place.topic}[${place.partition}], which is not a partition of ${this.settings.topics.join(', ')}`
          : `no partition of ${this.settings.topics.join(', ')} is known`,
      );
    }
    return resyncVersion(this.settings.generation, Math.min(...relevant.map((e) => e.end)));
  }

  async backfill(
    tableKey: string,
    options: { restart?: boolean; signal?: AbortSignal; onProgress?: (p: ResyncProgress) => void } = {},
  ): Promise<BackfillResult> {
    const { database, table } = splitTableKey(tableKey);
    const route = this.deps.mapping.route(database, table);
    if (route.action !== 'index')
      throw new Error(`${tableKey} is not indexed by the mapping (${route.action})`);
    const shape = await tableShape(this.deps.source, database, table);
    const { checkpoints, logger } = this.deps;
    if (options.restart) await checkpoints.reset(tableKey, 'backfill');
    const resumed = await checkpoints.load(tableKey, 'backfill');
    if (resumed?.after)
      logger.info({ tableKey, rows: resumed.rows, after: resumed.after }, 'backfill resumes');
    let after = resumed?.after;
    let rows = resumed?.rows ?? 0;
    const resumedAt = rows;
    const estimate = await this.estimate(shape);
    const started = Date.now();
    let refused = 0;
    const progress = (): ResyncProgress => ({
      tableKey,
      rows,
      estimate: Math.max(estimate, rows),
      resumedAt,
      elapsedMs: Date.now() - started,
    });

    for (;;) {
      options.signal?.throwIfAborted();
      await this.waitForRoom(options.signal);
      const version = await this.versionNow(tableKey);
      const chunk = await readRowChunk(
        this.deps.source,
        shape,
        route.mapping,
        after,
        this.settings.chunkRows,
      );
      if (chunk.length === 0) break;
      await this.deps.afterRead?.(tableKey, chunk);
      refused += await this.write(tableKey, route.mapping, chunk, version);
      after = (chunk[chunk.length - 1] as SourceRow).key;
      rows += chunk.length;
      await checkpoints.save(tableKey, 'backfill', after, rows);
      options.onProgress?.(progress());
      await this.throttle(rows - resumedAt, started, options.signal);
      if (chunk.length < this.settings.chunkRows) break;
    }
    await checkpoints.finish(tableKey, 'backfill', rows);
    return { ...progress(), refused };
  }

  /** Buffers the rows and keeps their backup rows, like ingest does with a batch; returns the refused. */
  private async write(tableKey: string, mapping: TableMapping, rows: readonly SourceRow[], version: number) {
    const sourceTs = Date.now();
    const entries = [];
    const backupRows = [];
    for (const row of rows) {
      const shard = shardOf(tableKey, row.id, this.settings.shards, mapping.rowSharded);
      const state = {
        tableKey,
        pk: row.id,
        version,
        sourceTs,
        op: 'upsert' as const,
        json: JSON.stringify(row.doc),
      };
      const { entry, backup } = storedForms(state, shard);
      entries.push(entry);
      backupRows.push(backup);
    }
    const result = await this.deps.buffer.upsert(entries);
    await this.deps.backup.commitBatch(backupRows, []);
    return result.refused;
  }

  private async waitForRoom(signal: AbortSignal | undefined): Promise<void> {
    while ((await this.deps.buffer.totalPending()) >= this.settings.highWatermark) {
      await sleep(this.settings.backpressureWaitMs ?? 500, undefined, signal ? { signal } : undefined);
    }
  }

  private async throttle(done: number, started: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.settings.ratePerSecond <= 0) return;
    const due = started + (done / this.settings.ratePerSecond) * 1000 - Date.now();
    if (due > 0) await sleep(due, undefined, signal ? { signal } : undefined);
  }

  private async estimate(shape: TableShape): Promise<number> {
    const [rows] = (await this.deps.source.query(
      'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      [shape.database, shape.table],
    )) as [Array<{ n: number | null }>, unknown];
    return Number(rows[0]?.n ?? 0);
  }
}
