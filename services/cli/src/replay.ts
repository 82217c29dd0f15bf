// Replaying dead letters: an ingest-stage entry is parsed again from its raw message (with its
// original Kafka position, so its version is what it would have been); a flush-stage entry is
// buffered again from its record. Both go through the compare-by-version buffer upsert and the
// backup, so a replay never replaces a newer state. Entries that fail again stay as they are.
import type { BackupRepository, DeadLetter, DeadLetterRepository } from '@sluice/backup';
import { encodeValue, type RedisBuffer, recordField } from '@sluice/buffer';
import { decodeFlatMessage, type Mapping, shardOfRow, shardOfTable } from '@sluice/core';
import { planBatch } from '@sluice/ingest';

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

interface StoredRecord {
  tableKey: string;
  pk: string;
  version: number;
  op: 'upsert' | 'delete';
  sourceTs: number;
  document: unknown;
}

async function replayRecord(ctx: ReplayContext, entry: DeadLetter): Promise<ReplayOutcome> {
  let record: StoredRecord;
  try {
    record = JSON.parse(entry.payload?.toString('utf8') ?? 'null') as StoredRecord;
    if (!record || typeof record.tableKey !== 'string' || typeof record.pk !== 'string')
      throw new Error('bad record');
  } catch {
    return { id: entry.id, ok: false, detail: 'the stored record is unreadable' };
  }
  const dot = record.tableKey.indexOf('.');
  const route = ctx.mapping.route(record.tableKey.slice(0, dot), record.tableKey.slice(dot + 1));
  const rowSharded = route.action === 'index' && route.mapping.rowSharded;
  const shard = rowSharded
    ? shardOfRow(record.tableKey, record.pk, ctx.shards)
    : shardOfTable(record.tableKey, ctx.shards);
  const json = record.op === 'delete' ? '' : JSON.stringify(record.document);
  const result = await ctx.buffer.upsert([
    {
      shard,
      field: recordField(record.tableKey, record.pk),
      version: record.version,
      value: encodeValue(record.version, record.sourceTs, record.op, json),
    },
  ]);
  await ctx.backup.commitBatch(
    [
      {
        shard,
        tableName: record.tableKey,
        primaryKey: record.pk,
        version: record.version,
        op: record.op === 'delete' ? 'd' : 'u',
        data: record.op === 'delete' ? null : json,
        sourceTs: record.sourceTs,
      },
    ],
    [],
  );
  await ctx.backup.reopen(shard, {
    tableName: record.tableKey,
    primaryKey: record.pk,
    version: record.version,
  });
  return {
    id: entry.id,
    ok: true,
    detail: result.refused ? 'a newer version is already buffered' : 'buffered again',
  };
}
