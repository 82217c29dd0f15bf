// Replaying dead letters: an ingest-stage entry is parsed again from its raw message (with its
// original Kafka position, so its version is what it would have been); a flush-stage entry is
// buffered again from its record. Both go through the compare-by-version buffer upsert and the
// backup, so a replay never replaces a newer state. Entries that fail again stay as they are.
import type { BackupRepository, DeadLetter, DeadLetterRepository } from '@sluice/backup';
import type { RedisBuffer } from '@sluice/buffer';
import { decodeFlatMessage, errorMessage, type Mapping, shardOf, splitTableKey } from '@sluice/core';
import { parseDeadLetterRecord, planBatch, type RowState, storedForms } from '@sluice/pipeline';

export interface ReplayContext {
  buffer: RedisBuffer;
  backup: BackupRepository;
  deadLetters: DeadLetterRepository;
  mapping: Mapping;
  shards: number;
  generation: number;
  maxRowBytes: number;
}

export interface ReplayOutcome {
  id: number;
  ok: boolean;
  detail: string;
}

export async function replayDeadLetter(ctx: ReplayContext, entry: DeadLetter): Promise<ReplayOutcome> {
  if (entry.stage === 'flush') return replayRecord(ctx, entry);
  if (
    entry.payload === null ||
    entry.topic === undefined ||
    entry.partition === undefined ||
    entry.offset === undefined
  ) {
    return { id: entry.id, ok: false, detail: 'no raw message or Kafka position stored' };
  }
  const position = { topic: entry.topic, partition: entry.partition, offset: String(entry.offset) };
  const outcome = decodeFlatMessage(entry.payload, {
    position,
    generation: ctx.generation,
    maxRowBytes: ctx.maxRowBytes,
  });
  if (outcome.kind !== 'rows') {
    const why = outcome.kind === 'invalid' ? outcome.reason : outcome.kind;
    return { id: entry.id, ok: false, detail: `still not applicable: ${why}` };
  }
  const plan = planBatch([{ offset: position.offset, raw: entry.payload, outcome }], {
    topic: position.topic,
    partition: position.partition,
    shards: ctx.shards,
    mapping: ctx.mapping,
    placeOf: () => undefined,
  });
  if (plan.deadLetters.length > 0) {
    return { id: entry.id, ok: false, detail: `still not applicable: ${plan.deadLetters[0]?.reason}` };
  }
  const result = await ctx.buffer.upsert(plan.entries);
  await ctx.backup.commitBatch(plan.backupRows, []);
  return {
    id: entry.id,
    ok: true,
    detail: `${result.inserted + result.replaced} buffered, ${result.refused} older than buffered`,
  };
}

async function replayRecord(ctx: ReplayContext, entry: DeadLetter): Promise<ReplayOutcome> {
  let state: RowState;
  let place: { database: string; table: string };
  try {
    state = parseDeadLetterRecord(entry.payload);
    place = splitTableKey(state.tableKey);
  } catch (error) {
    return { id: entry.id, ok: false, detail: `the stored record is unreadable: ${errorMessage(error)}` };
  }
  const route = ctx.mapping.route(place.database, place.table);
  const shard = shardOf(
    state.tableKey,
    state.pk,
    ctx.shards,
    route.action === 'index' && route.mapping.rowSharded,
  );
  const { entry: buffered, backup } = storedForms(state, shard);
  const result = await ctx.buffer.upsert([buffered]);
  await ctx.backup.commitBatch([backup], []);
  await ctx.backup.reopen(shard, { tableName: state.tableKey, primaryKey: state.pk, version: state.version });
  return {
    id: entry.id,
    ok: true,
    detail: result.refused ? 'a newer version is already buffered' : 'buffered again',
  };
}

/**
 * Replays every entry never replayed (of one reason, if given), a page at a time in id order, each
 * page marked as it is done: memory holds one page, and a stop in the middle keeps what was replayed.
 * An entry that fails again stays pending and is not read twice in one run. Returns every outcome.
 */
export async function replayPending(
  deadLetters: Pick<DeadLetterRepository, 'list' | 'markReplayed'>,
  replay: (entry: DeadLetter) => Promise<ReplayOutcome>,
  options: { reason?: string; pageSize?: number; onPage?: (done: number) => void } = {},
): Promise<ReplayOutcome[]> {
  const pageSize = options.pageSize ?? 500;
  const outcomes: ReplayOutcome[] = [];
  let afterId: number | undefined;
  for (;;) {
    const page = await deadLetters.list({
      pendingOnly: true,
      limit: pageSize,
      ...(options.reason ? { reason: options.reason } : {}),
      ...(afterId !== undefined ? { afterId } : {}),
    });
    if (page.length === 0) break;
    const done: ReplayOutcome[] = [];
    for (const entry of page) done.push(await replay(entry));
    await deadLetters.markReplayed(done.filter((o) => o.ok).map((o) => o.id));
    outcomes.push(...done);
    options.onPage?.(outcomes.length);
    afterId = (page[page.length - 1] as DeadLetter).id;
    if (page.length < pageSize) break;
  }
  return outcomes;
}
