// Re-syncing rows from the source MySQL through the normal path — the buffer (compare-by-version),
// the backup, the workers' flush — online, while the binlog keeps flowing and is never paused. Each
// chunk of rows is written with the version of rule.ts, so a re-synced row can never beat a newer
// change. A backfill walks a whole table in primary-key order and checkpoints after every chunk: a
// killed backfill resumes after the last key it stored, not from the start.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackupWriter } from '@sluice/backup';
import type { BufferWriter } from '@sluice/buffer';
import { readRowChunk, readRowsByIds, type SourceRow, type TableShape, tableShape } from '@sluice/checker';
import { type Mapping, shardOf, splitTableKey, type TableMapping } from '@sluice/core';
import { storedForms } from '@sluice/pipeline';
import type { Logger } from '@sluice/runtime';
import { type EsApi, scrollIndex } from '@sluice/sink';
import type { Pool } from 'mysql2/promise';
import { estimateRows, throttleRows } from './pace.ts';
import { resyncVersion } from './rule.ts';

/** End offsets (the offset the next message gets) of every partition of the topics. */
export interface PartitionEnds {
  ends(topics: readonly string[]): Promise<Array<{ topic: string; partition: number; end: number }>>;
  /** Publishes `count` messages every consumer skips, moving the partition's end on (see rule.ts). */
  mark(topic: string, partition: number, count?: number): Promise<void>;
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
  /** Elasticsearch, for the versions a repair must be above (without it: Sluice's own + 1). */
  es?: EsApi;
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

export interface RepairResult {
  tableKey: string;
  upserted: number;
  deleted: number;
  /** Ids of hashed (over-long) keys, which cannot be looked up in MySQL. */
  unreadable: number;
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
    const relevantOf = (ends: Awaited<ReturnType<PartitionEnds['ends']>>) =>
      place ? ends.filter((e) => e.topic === place.topic && e.partition === place.partition) : ends;
    let relevant = relevantOf(await this.deps.ends.ends(this.settings.topics));
    if (relevant.length === 0) {
      throw new Error(
        place
          ? `${tableKey} was seen in ${place.topic}[${place.partition}], which is not a partition of ${this.settings.topics.join(', ')}`
          : `no partition of ${this.settings.topics.join(', ')} is known`,
      );
    }
    const empty = relevant.filter((e) => e.end === 0);
    if (empty.length > 0 && this.settings.generation === 0) {
      // No version of generation 0 is below an empty partition's first change: give it one first.
      for (const e of empty) await this.deps.ends.mark(e.topic, e.partition);
      this.deps.logger.info({ partitions: empty }, 'empty partitions given a first (skipped) message');
      relevant = relevantOf(await this.deps.ends.ends(this.settings.topics));
    }
    return resyncVersion(this.settings.generation, Math.min(...relevant.map((e) => e.end)));
  }

  /**
   * A version taken now that is also above `floor` (what Elasticsearch may hold for the rows being
   * repaired): the partitions the version is read from are moved on with skipped messages until it
   * is. Still below every change published from now on (rule.ts).
   */
  async versionAbove(tableKey: string, floor: number): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const version = await this.versionNow(tableKey);
      if (version > floor) return version;
      if (attempt >= 3) throw new Error(`${tableKey}: cannot take a version above ${floor} (now ${version})`);
      const place = await this.deps.places.tablePlace(tableKey, this.settings.generation);
      const targets = place
        ? [place]
        : (await this.deps.ends.ends(this.settings.topics)).map(({ topic, partition }) => ({
            topic,
            partition,
          }));
      for (const t of targets)
        await this.deps.ends.mark(t.topic, t.partition, Math.min(1000, floor - version + 1));
    }
  }

  async backfill(
    tableKey: string,
    options: { restart?: boolean; signal?: AbortSignal; onProgress?: (p: ResyncProgress) => void } = {},
  ): Promise<BackfillResult> {
    const { route, shape } = await this.table(tableKey);
    const { checkpoints, logger } = this.deps;
    if (options.restart) await checkpoints.reset(tableKey, 'backfill');
    const resumed = await checkpoints.load(tableKey, 'backfill');
    if (resumed?.after)
      logger.info({ tableKey, rows: resumed.rows, after: resumed.after }, 'backfill resumes');
    let after = resumed?.after;
    let rows = resumed?.rows ?? 0;
    const resumedAt = rows;
    const estimate = await estimateRows(this.deps.source, shape.database, shape.table);
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
      await throttleRows(rows - resumedAt, started, this.settings.ratePerSecond, options.signal);
      if (chunk.length < this.settings.chunkRows) break;
    }
    await checkpoints.finish(tableKey, 'backfill', rows);
    return { ...progress(), refused };
  }

  /**
   * Buffers the rows (and deletes of `gone` ids) and keeps their backup rows, like ingest does with a
   * batch; returns how many the buffer refused (it holds a newer version).
   */
  private async write(
    tableKey: string,
    mapping: TableMapping,
    rows: readonly SourceRow[],
    version: number,
    gone: readonly string[] = [],
  ) {
    const sourceTs = Date.now();
    const entries = [];
    const backupRows = [];
    const states = [
      ...rows.map((row) => ({ pk: row.id, op: 'upsert' as const, json: JSON.stringify(row.doc) })),
      ...gone.map((pk) => ({ pk, op: 'delete' as const, json: '' })),
    ];
    for (const { pk, op, json } of states) {
      const shard = shardOf(tableKey, pk, this.settings.shards, mapping.rowSharded);
      const { entry, backup } = storedForms({ tableKey, pk, version, sourceTs, op, json }, shard);
      entries.push(entry);
      backupRows.push(backup);
    }
    const result = await this.deps.buffer.upsert(entries);
    await this.deps.backup.commitBatch(backupRows, []);
    return result.refused;
  }

  /**
   * Writes these ids again from MySQL: the row where it exists, a delete where it does not (same
   * version rule). What `sluice repair --from-last-check` does with a check's differences.
   */
  async repairIds(tableKey: string, ids: readonly string[], signal?: AbortSignal): Promise<RepairResult> {
    const { route, shape } = await this.table(tableKey);
    const result: RepairResult = { tableKey, upserted: 0, deleted: 0, unreadable: 0, refused: 0 };
    for (let i = 0; i < ids.length; i += this.settings.chunkRows) {
      signal?.throwIfAborted();
      await this.waitForRoom(signal);
      const part = ids.slice(i, i + this.settings.chunkRows);
      const version = await this.versionAbove(
        tableKey,
        await this.repairFloor(tableKey, route.mapping.index, part),
      );
      const { rows, unreadable } = await readRowsByIds(this.deps.source, shape, route.mapping, part);
      const present = new Set([...rows.map((r) => r.id), ...unreadable]);
      const gone = part.filter((id) => !present.has(id));
      result.refused += await this.write(tableKey, route.mapping, rows, version, gone);
      result.upserted += rows.length;
      result.deleted += gone.length;
      result.unreadable += unreadable.length;
    }
    return result;
  }

  /**
   * What Elasticsearch may hold for these ids, as a version: the highest of their documents, and at
   * least one above every version Sluice has given out (a document deleted or written behind
   * Sluice's back gets its version + 1 — for a deleted one, unseen, kept by the index as a tombstone).
   */
  private async repairFloor(tableKey: string, index: string, ids: readonly string[]): Promise<number> {
    let floor = (await this.versionNow(tableKey)) + 1;
    if (this.deps.es && ids.length > 0) {
      const found = await this.deps.es.request<{ docs?: Array<{ found: boolean; _version?: number }> }>(
        {
          method: 'POST',
          path: `/${encodeURIComponent(index)}/_mget`,
          body: { ids },
          querystring: { _source: false },
        },
        { ignore: [404] },
      );
      for (const doc of found.body.docs ?? [])
        if (doc.found && doc._version !== undefined) floor = Math.max(floor, doc._version);
    }
    return floor;
  }

  /** Deletes (same version rule) every document of the table's index whose row does not exist. */
  async deleteExtras(tableKey: string, es: EsApi, signal?: AbortSignal): Promise<RepairResult> {
    const { route, shape } = await this.table(tableKey);
    const result: RepairResult = { tableKey, upserted: 0, deleted: 0, unreadable: 0, refused: 0 };
    for await (const hits of scrollIndex(es, route.mapping.index, {
      pageSize: this.settings.chunkRows,
      source: false,
    })) {
      signal?.throwIfAborted();
      await this.waitForRoom(signal);
      const ids = hits.map((h) => h._id);
      const highest = Math.max((await this.versionNow(tableKey)) + 1, ...hits.map((h) => h._version ?? 0));
      const version = await this.versionAbove(tableKey, highest);
      const { rows, unreadable } = await readRowsByIds(this.deps.source, shape, route.mapping, ids);
      const present = new Set([...rows.map((r) => r.id), ...unreadable]);
      const gone = ids.filter((id) => !present.has(id));
      if (gone.length > 0) result.refused += await this.write(tableKey, route.mapping, [], version, gone);
      result.deleted += gone.length;
      result.unreadable += unreadable.length;
    }
    return result;
  }

  private async table(tableKey: string): Promise<{ route: { mapping: TableMapping }; shape: TableShape }> {
    const { database, table } = splitTableKey(tableKey);
    const route = this.deps.mapping.route(database, table);
    if (route.action !== 'index')
      throw new Error(`${tableKey} is not indexed by the mapping (${route.action})`);
    return { route, shape: await tableShape(this.deps.source, database, table) };
  }

  private async waitForRoom(signal: AbortSignal | undefined): Promise<void> {
    while ((await this.deps.buffer.totalPending()) >= this.settings.highWatermark) {
      await sleep(this.settings.backpressureWaitMs ?? 500, undefined, signal ? { signal } : undefined);
    }
  }
}
