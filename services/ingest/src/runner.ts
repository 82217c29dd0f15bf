// The ingest step for one batch of one partition:
//   parse → route → (replayed offsets refused) → collapse per row → Redis (compare-by-version)
//   → dead letters + backup rows + applied offset (one MySQL transaction) → return (the caller commits
//   the Kafka offset).
// Redis goes first: a crash after it replays the batch, which Redis refuses by version and the backup
// then records. Offsets at or below the partition's applied offset are replays (e.g. a consumer-group
// reset) and are refused before they reach the buffer.
import type { BackupWriter, DeadLetterInput, DeadLetterSink } from '@sluice/backup';
import { type BufferWriter, splitField } from '@sluice/buffer';
import { decodeFlatMessage, type Mapping } from '@sluice/core';
import { type BatchPlan, type ParsedMessage, planBatch } from '@sluice/pipeline';
import type { IngestMetrics, Logger } from '@sluice/runtime';
import type { MappingConflict, TableColumns } from '@sluice/sink';
import type { SourceBatch } from '@sluice/source';

/** Puts the index mappings of tables' columns (sink TableSchemas); returns conflicts found now. */
export interface SchemaSink {
  ensure(
    tables: Iterable<TableColumns>,
  ): Promise<Array<{ tableKey: string; index: string; conflicts: MappingConflict[] }>>;
}

export interface IngestDeps {
  buffer: BufferWriter;
  schemas: SchemaSink;
  backup: BackupWriter;
  deadLetters: DeadLetterSink;
  mapping: Mapping;
  metrics: IngestMetrics;
  logger: Logger;
  /** Invalidates the changed rows in applications' row caches (SLUICE_CACHE_INVALIDATION). */
  invalidator?: RowInvalidator;
}

export interface RowInvalidator {
  invalidate(rows: ReadonlyArray<{ table: string; pk: string }>): Promise<void>;
  /** Every row of these tables (a DDL statement changed them without row events). */
  invalidateTables(tables: readonly string[]): Promise<void>;
}

export interface IngestSettings {
  /** Never applied: Sluice's own metadata database (its writes would otherwise echo through Canal). */
  skipDatabases: string[];
  shards: number;
  generation: number;
  maxRowBytes: number;
  /** The zone Canal renders TIMESTAMP values in. */
  timeZone: string;
  /** TRUNCATE / DROP TABLE remove the table's documents (the workers can read the source MySQL). */
  applyResets: boolean;
}

export interface BatchResult {
  messages: number;
  buffered: number;
  refused: number;
  replayed: number;
  deadLettered: number;
}

export class IngestRunner {
  private readonly deps: IngestDeps;
  private readonly settings: IngestSettings;
  private readonly applied = new Map<string, number>();
  private readonly places = new Map<string, { topic: string; partition: number }>();
  private readonly skip: ReadonlySet<string>;
  /** Notices (undecodable columns, mapping conflicts) whose dead letter this process has stored. */
  private readonly noticed = new Set<string>();

  constructor(deps: IngestDeps, settings: IngestSettings) {
    this.deps = deps;
    this.settings = settings;
    this.skip = new Set(settings.skipDatabases);
  }

  /** Forget per-partition state (after a rebalance another member may have moved it on). */
  resetPartitionState(): void {
    this.applied.clear();
  }

  private async appliedOffset(topic: string, partition: number): Promise<number> {
    const key = `${topic}:${partition}`;
    let offset = this.applied.get(key);
    if (offset === undefined) {
      const offsets = await this.deps.backup.appliedOffsets(topic, this.settings.generation);
      offset = offsets.get(partition) ?? -1;
      this.applied.set(key, offset);
    }
    return offset;
  }

  private async learnPlaces(
    topic: string,
    partition: number,
    parsed: readonly ParsedMessage[],
  ): Promise<void> {
    for (const m of parsed) {
      if (m.outcome?.kind !== 'rows') continue;
      const key = `${m.outcome.database}.${m.outcome.table}`;
      if (this.places.has(key)) continue;
      const place = await this.deps.backup.tablePartition(key, this.settings.generation, topic, partition);
      this.places.set(key, place);
    }
  }

  /**
   * Dead letters for what needs a human but stops nothing, each once per process: text Canal could
   * not decode (one per message that first shows a column: dead letters are unique per Kafka
   * position) and columns whose type conflicts with the index. `keys` are marked noticed only once
   * the dead letters are stored, so a batch that fails and comes again reports them again.
   */
  private notices(
    plan: BatchPlan,
    conflicts: Awaited<ReturnType<SchemaSink['ensure']>>,
    { topic, partition }: Pick<SourceBatch, 'topic' | 'partition'>,
  ): { letters: DeadLetterInput[]; keys: string[] } {
    const { logger } = this.deps;
    const letters: DeadLetterInput[] = [];
    const keys: string[] = [];
    const byOffset = new Map<string, string[]>();
    for (const [key, offset] of plan.undecodable) {
      if (this.noticed.has(`text|${key}`)) continue;
      keys.push(`text|${key}`);
      byOffset.set(offset, [...(byOffset.get(offset) ?? []), key]);
    }
    for (const [offset, found] of byOffset) {
      const columns = found.map((key) => key.slice(key.lastIndexOf('|') + 1));
      const table = (found[0] as string).slice(0, (found[0] as string).lastIndexOf('|'));
      logger.warn({ table, columns, partition, offset }, 'text with U+FFFD replacement characters');
      letters.push({
        stage: 'ingest',
        reason: 'text_undecodable',
        detail: `column(s) ${columns.join(', ')} of ${table} hold U+FFFD replacement characters: Canal could not decode their bytes in its connectionCharset. If a column's character set is not utf8mb4/utf8, route the table through a Canal destination of that character set (docs/types.md, "Character sets"); the documents keep the damaged text until their rows change again`,
        tableName: table,
        topic,
        partition,
        offset,
        payload: null,
      });
    }
    for (const report of conflicts) {
      const fresh = report.conflicts.filter(
        (c) => !this.noticed.has(`mapping|${report.index}|${c.field}|${c.wanted}`),
      );
      if (fresh.length === 0) continue;
      keys.push(...fresh.map((c) => `mapping|${report.index}|${c.field}|${c.wanted}`));
      const detail = fresh
        .map((c) => `column ${c.field}: the index has ${c.existing}, the table's type gives ${c.wanted}`)
        .join('; ');
      logger.warn({ table: report.tableKey, index: report.index, conflicts: fresh }, detail);
      letters.push({
        stage: 'ingest',
        reason: 'mapping_conflict',
        detail: `${report.index}: ${detail} (values go on being written; sluice reindex ${report.tableKey} applies the new types)`,
        tableName: report.tableKey,
        payload: null,
      });
    }
    return { letters, keys };
  }

  async process(batch: SourceBatch): Promise<BatchResult> {
    return (await this.prepare(batch))();
  }

  /**
   * The computing half of a batch (decode, plan), which the source may run while the partition's
   * previous batch is still being written; returns the writing half. Offsets only grow within a
   * partition, so a plan made before the previous batch's writes finished refuses the same replays
   * as one made after. The writing half may be called again after it failed (every write in it is
   * refused when it is not newer).
   */
  async prepare(batch: SourceBatch): Promise<() => Promise<BatchResult>> {
    const started = process.hrtime.bigint();
    const { topic, partition, messages } = batch;
    const applied = await this.appliedOffset(topic, partition);

    const parsed: ParsedMessage[] = messages.map((m) => ({
      offset: m.offset,
      raw: m.value,
      outcome:
        Number(m.offset) <= applied
          ? undefined
          : m.value === null
            ? { kind: 'invalid', reason: 'invalid_shape', detail: 'empty message (null value)' }
            : decodeFlatMessage(m.value, {
                position: { topic, partition, offset: m.offset },
                generation: this.settings.generation,
                maxRowBytes: this.settings.maxRowBytes,
              }),
    }));
    await this.learnPlaces(topic, partition, parsed);
    const plan = planBatch(parsed, {
      topic,
      partition,
      shards: this.settings.shards,
      mapping: this.deps.mapping,
      skipDatabases: this.skip,
      placeOf: (key) => this.places.get(key),
      timeZone: this.settings.timeZone,
      applyResets: this.settings.applyResets,
    });
    const planned = process.hrtime.bigint();
    return () => this.apply(batch, plan, applied, { started, planned });
  }

  private async apply(
    batch: SourceBatch,
    plan: BatchPlan,
    applied: number,
    timing: { started: bigint; planned: bigint },
  ): Promise<BatchResult> {
    const { topic, partition, messages } = batch;
    const { metrics, logger } = this.deps;
    const { started } = timing;
    const began = process.hrtime.bigint();
    // Mappings for every column before any row that holds it is buffered.
    const notices = this.notices(plan, await this.deps.schemas.ensure(plan.schemas.values()), batch);
    const deadLetters = [...plan.deadLetters, ...notices.letters];
    const planned = process.hrtime.bigint();
    const upserted = plan.entries.length > 0 ? await this.deps.buffer.upsert(plan.entries) : undefined;
    const buffered = process.hrtime.bigint();
    await this.deps.deadLetters.add(deadLetters);
    for (const key of notices.keys) this.noticed.add(key);
    const last = messages[messages.length - 1];
    const lastOffset = last ? Number(last.offset) : -1;
    const progress =
      lastOffset > applied
        ? [{ topic, partition, generation: this.settings.generation, offset: lastOffset }]
        : [];
    await this.deps.backup.commitBatch(plan.backupRows, progress, plan.resets);
    const backedUp = process.hrtime.bigint();
    // After the buffer and the backup, before the source's commit: a replay invalidates again.
    if (this.deps.invalidator && plan.entries.length > 0) {
      await this.deps.invalidator.invalidate(
        plan.entries.map((entry) => {
          const { tableKey, pk } = splitField(entry.field);
          return { table: tableKey, pk };
        }),
      );
    }
    // ALTER, TRUNCATE, DROP, RENAME…: whatever the mapping does with it, the table's rows changed.
    const altered = plan.ddl.map((d) => d.table).filter((table) => !table.endsWith('.'));
    if (this.deps.invalidator && altered.length > 0) await this.deps.invalidator.invalidateTables(altered);
    if (lastOffset > applied) this.applied.set(`${topic}:${partition}`, lastOffset);

    for (const [key, n] of plan.messages) {
      const [table = '-', type = '-'] = key.split('|');
      metrics.messages.inc({ table, type }, n);
    }
    if (plan.records.upsert) metrics.records.inc({ op: 'upsert' }, plan.records.upsert);
    if (plan.records.delete) metrics.records.inc({ op: 'delete' }, plan.records.delete);
    if (plan.merged) metrics.merged.inc({ stage: 'batch' }, plan.merged);
    if (upserted?.replaced) metrics.merged.inc({ stage: 'buffer' }, upserted.replaced);
    if (upserted?.refused) metrics.refused.inc({ reason: 'older_than_buffered' }, upserted.refused);
    if (plan.replayed) metrics.refused.inc({ reason: 'replayed_offset' }, plan.replayed);
    for (const ddl of plan.ddl) {
      metrics.ddl.inc({ type: ddl.type, action: ddl.action });
      if (ddl.action !== 'dead_letter')
        logger.info({ table: ddl.table, type: ddl.type, action: ddl.action }, 'DDL');
    }
    for (const d of deadLetters) {
      metrics.errors.inc({ reason: d.reason });
      metrics.dlq.inc({ reason: d.reason });
    }
    if (deadLetters.length > 0) {
      logger.warn(
        {
          topic,
          partition,
          deadLetters: deadLetters.map((d) => ({
            offset: d.offset,
            reason: d.reason,
            table: d.tableName,
          })),
        },
        `${deadLetters.length} message(s) dead-lettered`,
      );
    }
    metrics.batchSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    const ms = (from: bigint, to: bigint) => Math.round(Number(to - from) / 1e5) / 10;
    logger.debug(
      {
        topic,
        partition,
        messages: messages.length,
        records: plan.entries.length,
        parseMs: ms(started, timing.planned),
        queuedMs: ms(timing.planned, began),
        redisMs: ms(planned, buffered),
        mysqlMs: ms(buffered, backedUp),
      },
      'batch ingested',
    );
    return {
      messages: messages.length,
      buffered: plan.entries.length,
      refused: upserted?.refused ?? 0,
      replayed: plan.replayed,
      deadLettered: deadLetters.length,
    };
  }
}
