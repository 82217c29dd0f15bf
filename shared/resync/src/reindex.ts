// `sluice reindex`: rebuilds an alias's index into a new physical index from the source MySQL (the
// source of truth: a copy of a wrong index stays wrong), online, then swaps the alias atomically.
//
//   1. start    the target `<alias>-sluice-<n+1>` is made with the mappings the tables derive now
//               (and the mapping file's settings), refresh off and no replicas while it fills; the
//               job is stored (reindex_jobs) — from then on every flush batch also writes its
//               records of the alias to the target (each batch reads the jobs after it takes its
//               records from the buffer)
//   2. rebuild  every table mapped to the alias is read in primary-key chunks and written to the
//               target directly, each chunk at the re-sync version of rule.ts (end offset taken
//               before the read); checkpointed per chunk, so a killed run resumes
//   3. swap     columns added meanwhile are mapped, the target gets its final settings and a
//               refresh, then one _aliases request moves the alias; the old index is deleted a few
//               seconds later (searches running on it finish first). A legacy concrete index is
//               deleted in the swap's own request, as the alias takes its name
//
// Why the target ends equal to the tables: a change taken from the buffer after step 1 is written to
// the target by the flush, at its own version. A change taken before it has an offset below every
// end offset the rebuild takes (those are taken after step 1), so it was committed before the rebuild
// reads its row: the rebuild writes that state or a newer one, at a version at least as high. A
// rebuild write never beats a live change (rule.ts); a live delete leaves a tombstone in the target
// (index.gc_deletes) that refuses the rebuild's older write of the row. Searches use the alias, which
// names the old index, complete, until the swap, and the complete, refreshed target after it.
// A TRUNCATE or DROP TABLE of a rebuilt table during the rebuild cannot be ordered against the
// chunks already written: the reindex stops and asks to be run again.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ReindexCheckpoint, ReindexJob } from '@sluice/backup';
import { mappedTables, readRowChunk, type SourceRow, tableColumns, tableShape } from '@sluice/checker';
import {
  deriveIndexMappings,
  errorMessage,
  type FieldCapabilities,
  type Mapping,
  retry,
  splitTableKey,
  type TableMapping,
} from '@sluice/core';
import type { Logger } from '@sluice/runtime';
import {
  type BulkOp,
  buildBulkChunks,
  classifyBulkResponse,
  type EsApi,
  formerIndices,
  type IndexDefaults,
  indexSettings,
  physicalIndexName,
  physicalNumber,
  resolveIndex,
  swapActions,
  templateBody,
} from '@sluice/sink';
import type { Pool } from 'mysql2/promise';
import { estimateRows, throttleRows } from './pace.ts';

export interface ReindexJobs {
  load(alias: string): Promise<ReindexJob | undefined>;
  start(alias: string, sourceIndex: string | null, target: string): Promise<void>;
  checkpoint(alias: string, after: ReindexCheckpoint, rows: number): Promise<void>;
  end(alias: string, state: 'done' | 'aborted', error?: string): Promise<void>;
  /** Holds the alias's job for this process (a MySQL named lock); throws when another run holds it. */
  hold(alias: string): Promise<() => Promise<void>>;
}

export interface ReindexDeps {
  source: Pool;
  mapping: Mapping;
  es: EsApi;
  jobs: ReindexJobs;
  /** TRUNCATE / DROP TABLE fences (table → binlog time of the newest). */
  fences: { fences(): Promise<Map<string, number>> };
  /** The version rows read now are written with (Resync.versionNow). */
  versions: { versionNow(tableKey: string): Promise<number> };
  defaults: IndexDefaults;
  caps: FieldCapabilities;
  logger: Logger;
}

export interface ReindexSettings {
  chunkRows: number;
  /** Rows per second at most; 0: as fast as Elasticsearch takes them. */
  ratePerSecond: number;
  bulkMaxBytes: number;
  /** Attempts of a chunk whose writes Elasticsearch asks to retry (429, 5xx). */
  attempts?: number;
  /** How long the old index outlives the swap, for searches already running on it (default 5 s). */
  dropOldAfterMs?: number;
}

export interface ReindexProgress {
  alias: string;
  target: string;
  table: string;
  rows: number;
  estimate: number;
  resumedAt: number;
  elapsedMs: number;
}

export interface ReindexResult extends ReindexProgress {
  tables: string[];
  /** What the alias named before: a physical index, the alias itself (legacy index), or nothing. */
  previous: string | null;
  kept: boolean;
  /** Rows whose document the target already held at a newer version (a live change came first). */
  refused: number;
}

/** The new index refused documents: the mapping does not fit the rows. Nothing was swapped. */
export class ReindexRefusedError extends Error {}

export class Reindex {
  private readonly deps: ReindexDeps;
  private readonly settings: ReindexSettings;

  constructor(deps: ReindexDeps, settings: ReindexSettings) {
    this.deps = deps;
    this.settings = settings;
  }

  /** The alias a table is indexed into. */
  aliasOf(tableKey: string): string {
    const { database, table } = splitTableKey(tableKey);
    const route = this.deps.mapping.route(database, table);
    if (route.action !== 'index')
      throw new Error(`${tableKey} is not indexed by the mapping (${route.action})`);
    return route.mapping.index;
  }

  async run(
    tableKey: string,
    options: {
      restart?: boolean;
      keepOld?: boolean;
      signal?: AbortSignal;
      onProgress?: (p: ReindexProgress) => void;
    } = {},
  ): Promise<ReindexResult> {
    const alias = this.aliasOf(tableKey);
    const release = await this.deps.jobs.hold(alias);
    try {
      return await this.runHeld(alias, options);
    } finally {
      await release();
    }
  }

  /** Stops an unfinished reindex: the flushes stop writing to its target, which is deleted. */
  async abort(tableKey: string): Promise<ReindexJob | undefined> {
    const alias = this.aliasOf(tableKey);
    const release = await this.deps.jobs.hold(alias);
    try {
      const job = await this.deps.jobs.load(alias);
      if (job?.state !== 'building') return undefined;
      await this.deps.jobs.end(alias, 'aborted', 'aborted by the operator');
      await this.dropUnlessAliased(alias, job.target);
      return job;
    } finally {
      await release();
    }
  }

  private async runHeld(
    alias: string,
    options: {
      restart?: boolean;
      keepOld?: boolean;
      signal?: AbortSignal;
      onProgress?: (p: ReindexProgress) => void;
    },
  ): Promise<ReindexResult> {
    const { jobs, logger } = this.deps;
    // Every table indexed into the alias is rebuilt (several tables may share one index).
    const tables = (await mappedTables(this.deps.source, this.deps.mapping)).filter(
      (t) => this.aliasOf(t) === alias,
    );
    if (tables.length === 0) throw new Error(`no source table is indexed into ${alias}`);
    let job = await jobs.load(alias);
    const current = await resolveIndex(this.deps.es, alias);
    if (job?.state === 'building' && current.kind === 'alias' && current.writeIndex === job.target) {
      // Killed after the swap, before the job was marked done.
      await jobs.end(alias, 'done');
      return this.result(alias, job, tables, job.rows, 0, 0, Date.now(), !!options.keepOld);
    }
    const resumable =
      job?.state === 'building' &&
      !options.restart &&
      (
        await this.deps.es.request(
          { method: 'HEAD', path: `/${encodeURIComponent(job.target)}` },
          { ignore: [404] },
        )
      ).statusCode === 200;
    if (job?.state === 'building' && !resumable) {
      await jobs.end(alias, 'aborted', 'started again');
      await this.dropUnlessAliased(alias, job.target);
    }
    if (!resumable) {
      const previous =
        current.kind === 'alias' ? (current.writeIndex ?? null) : current.kind === 'index' ? alias : null;
      const target = await this.createTarget(alias, tables, current);
      await jobs.start(alias, previous, target);
      job = (await jobs.load(alias)) as ReindexJob;
      logger.info(
        { alias, target, previous, tables },
        'reindex started: changes are written to both indices',
      );
    } else {
      logger.info({ alias, target: job?.target, after: job?.after, rows: job?.rows }, 'reindex resumes');
    }
    const started = job as ReindexJob;
    const startedAt = Date.now();
    const { rows, refused, resumedAt } = await this.rebuild(alias, started, tables, startedAt, options);
    await this.swap(alias, started, tables, !!options.keepOld);
    return this.result(alias, started, tables, rows, resumedAt, refused, startedAt, !!options.keepOld);
  }

  private result(
    alias: string,
    job: ReindexJob,
    tables: string[],
    rows: number,
    resumedAt: number,
    refused: number,
    startedAt: number,
    keepOld: boolean,
  ): ReindexResult {
    return {
      alias,
      target: job.target,
      table: tables[tables.length - 1] as string,
      tables,
      rows,
      estimate: rows,
      resumedAt,
      elapsedMs: Date.now() - startedAt,
      previous: job.sourceIndex,
      kept: keepOld && job.sourceIndex !== null && job.sourceIndex !== alias,
      refused,
    };
  }

  /** The index mappings the tables derive from their columns now (one index, merged properties). */
  private async mappingsOf(tables: readonly string[]): Promise<Record<string, unknown>> {
    let merged: Record<string, unknown> | undefined;
    for (const tableKey of tables) {
      const { database, table } = splitTableKey(tableKey);
      const { columns } = await tableColumns(this.deps.source, database, table);
      const derived = deriveIndexMappings(
        Object.fromEntries(columns.map((c) => [c.name, c.type])),
        this.tableMapping(tableKey),
        this.deps.caps,
      );
      merged = merged
        ? {
            ...merged,
            properties: {
              ...(merged.properties as Record<string, unknown>),
              ...(derived.properties as Record<string, unknown>),
            },
          }
        : derived;
    }
    return merged ?? {};
  }

  private tableMapping(tableKey: string): TableMapping {
    const { database, table } = splitTableKey(tableKey);
    const route = this.deps.mapping.route(database, table);
    if (route.action !== 'index')
      throw new Error(`${tableKey} is not indexed by the mapping (${route.action})`);
    return route.mapping;
  }

  private async createTarget(
    alias: string,
    tables: readonly string[],
    current: Awaited<ReturnType<typeof resolveIndex>>,
  ): Promise<string> {
    const { es } = this.deps;
    const mappings = await this.mappingsOf(tables);
    const spec = { name: alias, mappings, settings: this.tableMapping(tables[0] as string).settings };
    const taken = current.kind === 'alias' ? current.indices.map((i) => physicalNumber(alias, i) ?? 0) : [];
    for (let n = Math.max(0, ...taken) + 1; ; n++) {
      const target = physicalIndexName(alias, n);
      const created = await es.request<{ error?: { type?: string } }>(
        {
          method: 'PUT',
          path: `/${encodeURIComponent(target)}`,
          body: {
            settings: {
              ...indexSettings(spec, this.deps.defaults),
              // Filled in bulk first; the final settings come back before the swap.
              'index.refresh_interval': '-1',
              'index.number_of_replicas': 0,
            },
            mappings,
          },
        },
        { ignore: [400] },
      );
      if (created.statusCode !== 400) return target;
      if (created.body.error?.type !== 'resource_already_exists_exception') {
        throw new Error(`creating ${target} failed: ${JSON.stringify(created.body.error)}`);
      }
      // Left by an earlier run: a number not in use by the alias is taken.
    }
  }

  private async rebuild(
    alias: string,
    job: ReindexJob,
    tables: readonly string[],
    startedAt: number,
    options: { signal?: AbortSignal; onProgress?: (p: ReindexProgress) => void },
  ): Promise<{ rows: number; refused: number; resumedAt: number }> {
    let rows = job.rows;
    const resumedAt = rows;
    let refused = 0;
    let estimate = 0;
    for (const t of tables) {
      const { database, table } = splitTableKey(t);
      estimate += await estimateRows(this.deps.source, database, table);
    }
    const from = job.after ? tables.indexOf(job.after.table) : 0;
    for (let t = Math.max(0, from); t < tables.length; t++) {
      const tableKey = tables[t] as string;
      const { database, table } = splitTableKey(tableKey);
      const shape = await tableShape(this.deps.source, database, table);
      const mapping = this.tableMapping(tableKey);
      let after = job.after && job.after.table === tableKey ? job.after.key : undefined;
      for (;;) {
        options.signal?.throwIfAborted();
        const version = await this.deps.versions.versionNow(tableKey);
        const chunk = await readRowChunk(this.deps.source, shape, mapping, after, this.settings.chunkRows);
        if (chunk.length === 0) break;
        refused += await this.writeChunk(alias, job.target, chunk, version);
        after = (chunk[chunk.length - 1] as SourceRow).key;
        rows += chunk.length;
        await this.deps.jobs.checkpoint(alias, { table: tableKey, key: after }, rows);
        options.onProgress?.({
          alias,
          target: job.target,
          table: tableKey,
          rows,
          estimate: Math.max(estimate, rows),
          resumedAt,
          elapsedMs: Date.now() - startedAt,
        });
        await throttleRows(rows - resumedAt, startedAt, this.settings.ratePerSecond, options.signal);
        if (chunk.length < this.settings.chunkRows) break;
      }
    }
    return { rows, refused, resumedAt };
  }

  /** Writes a chunk to the target; returns how many it already held newer. */
  private async writeChunk(alias: string, target: string, chunk: readonly SourceRow[], version: number) {
    let pending: BulkOp[] = chunk.map((row) => ({
      ref: row.id,
      index: target,
      id: row.id,
      version,
      op: 'upsert',
      json: JSON.stringify(row.doc),
    }));
    let refused = 0;
    await retry(
      `rebuild writes to ${target}`,
      async () => {
        const again: BulkOp[] = [];
        for (const part of buildBulkChunks(pending, this.settings.bulkMaxBytes)) {
          const response = await this.deps.es.request({
            method: 'POST',
            path: '/_bulk',
            bulkBody: part.body,
          });
          for (const { op, outcome } of classifyBulkResponse(
            part.ops,
            response.body as Parameters<typeof classifyBulkResponse>[1],
          )) {
            if (outcome.kind === 'done') refused += outcome.result === 'refused' ? 1 : 0;
            else if (outcome.kind === 'retry') again.push(op);
            else await this.refuse(alias, target, `document ${op.id}: ${outcome.detail}`);
          }
        }
        pending = again;
        if (again.length > 0) throw new RetryChunk(`${again.length} writes to ${target} to retry`);
      },
      {
        attempts: this.settings.attempts ?? 8,
        baseDelayMs: 200,
        maxDelayMs: 10_000,
        shouldRetry: (error) =>
          error instanceof RetryChunk || (error as { retriable?: boolean }).retriable === true,
      },
    );
    return refused;
  }

  /** Ends the job without a swap: the target refused a document. */
  private async refuse(alias: string, target: string, detail: string): Promise<never> {
    const message = `the new index ${target} refused a document, so ${alias} was not swapped (${detail}); the mapping does not fit the rows: fix it and run sluice reindex again`;
    await this.deps.jobs.end(alias, 'aborted', message);
    await this.dropUnlessAliased(alias, target);
    throw new ReindexRefusedError(message);
  }

  private async swap(
    alias: string,
    job: ReindexJob,
    tables: readonly string[],
    keepOld: boolean,
  ): Promise<void> {
    const { es, jobs, logger } = this.deps;
    const target = encodeURIComponent(job.target);
    // A fence's time is the source's binlog clock, the job's the metadata server's: a margin for skew
    // (a TRUNCATE just before the start only asks for one more run).
    const fences = await this.deps.fences.fences();
    const reset = tables.find((t) => (fences.get(t) ?? 0) >= job.startedAt - FENCE_SKEW_MS);
    if (reset) {
      const message = `${reset} was truncated or dropped during the rebuild of ${alias}: nothing was swapped; run sluice reindex again`;
      await jobs.end(alias, 'aborted', message);
      await this.dropUnlessAliased(alias, job.target);
      throw new Error(message);
    }
    // Columns added since the target was made (the flushes already write their values).
    const mappings = await this.mappingsOf(tables);
    try {
      await es.request({
        method: 'PUT',
        path: `/${target}/_mapping`,
        body: { properties: mappings.properties },
      });
    } catch (error) {
      const message = `the columns of ${alias}'s tables changed type during the rebuild (${errorMessage(error)}): nothing was swapped; run sluice reindex again`;
      await jobs.end(alias, 'aborted', message);
      await this.dropUnlessAliased(alias, job.target);
      throw new Error(message);
    }
    const spec = { name: alias, mappings, settings: this.tableMapping(tables[0] as string).settings };
    // The template holds the new mappings from the swap on (an index made again from it gets them too).
    await es.request({
      method: 'PUT',
      path: `/_index_template/${encodeURIComponent(alias)}`,
      body: templateBody(spec, this.deps.defaults),
    });
    const final = indexSettings(spec, this.deps.defaults);
    await es.request({
      method: 'PUT',
      path: `/${target}/_settings`,
      body: {
        'index.refresh_interval': final['index.refresh_interval'],
        'index.number_of_replicas': final['index.number_of_replicas'],
      },
    });
    await es.request({ method: 'POST', path: `/${target}/_refresh` });
    const before = await resolveIndex(es, alias);
    await es.request({
      method: 'POST',
      path: '/_aliases',
      body: { actions: swapActions(alias, job.target, before) },
    });
    // The flushes stop writing to both only now: a batch taken before this line wrote the target too.
    await jobs.end(alias, 'done');
    logger.info(
      { alias, target: job.target, previous: job.sourceIndex, keepOld },
      'reindex swapped the alias',
    );
    if (keepOld) return;
    // Searches that began on the old index before the swap finish before it goes.
    await sleep(this.settings.dropOldAfterMs ?? 5000);
    for (const index of formerIndices(alias, job.target, before)) {
      await es.request({ method: 'DELETE', path: `/${encodeURIComponent(index)}` }, { ignore: [404] });
    }
  }

  private async dropUnlessAliased(alias: string, index: string): Promise<void> {
    const current = await resolveIndex(this.deps.es, alias);
    if (current.kind === 'alias' && current.indices.includes(index)) return;
    await this.deps.es.request(
      { method: 'DELETE', path: `/${encodeURIComponent(index)}` },
      { ignore: [404] },
    );
  }
}

class RetryChunk extends Error {}

const FENCE_SKEW_MS = 5000;
