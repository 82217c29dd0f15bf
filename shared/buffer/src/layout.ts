// The buffer's Redis layout, pure. Every key of a shard shares the hash tag "{<prefix>:<cluster>:<ss>}",
// so a shard lives in one Redis Cluster slot and each Lua script touches one slot.
//
//   {p:c:07}:rec       HASH  "<db>.<table>|<pk>" -> "<version>|<sourceTs>|<op>|<row json>"
//   {p:c:07}:pending   ZSET  field -> time first buffered (ms): oldest first, age of the shard
//   {p:c:07}:delay     ZSET  field -> when a failed record may be retried (ms)
//   {p:c:07}:attempts  HASH  field -> failed attempts
import { type ChangeRecord, type Op, shardLabel } from '@sluice/core';

export interface ShardKeys {
  rec: string;
  pending: string;
  delay: string;
  attempts: string;
}

export function shardKeys(prefix: string, cluster: string, shard: number): ShardKeys {
  const tag = `{${prefix}:${cluster}:${shardLabel(shard)}}`;
  return { rec: `${tag}:rec`, pending: `${tag}:pending`, delay: `${tag}:delay`, attempts: `${tag}:attempts` };
}

/** "<db>.<table>|<pk>": the encoded pk never contains "|", so the last "|" splits the two. */
export function recordField(tableKey: string, pk: string): string {
  return `${tableKey}|${pk}`;
}

export function splitField(field: string): { tableKey: string; pk: string } {
  const at = field.lastIndexOf('|');
  if (at <= 0) throw new Error(`malformed buffer field '${field}'`);
  return { tableKey: field.slice(0, at), pk: field.slice(at + 1) };
}

/** What a flush needs to know about one buffered row. */
export interface BufferedRecord {
  field: string;
  tableKey: string;
  pk: string;
  version: number;
  sourceTs: number;
  op: Op;
  /** The document as JSON text (empty for deletes). */
  json: string;
  /** When the row was first buffered since its last flush (ms). */
  bufferedAt: number;
}

export function encodeValue(version: number, sourceTs: number, op: Op, json: string): string {
  return `${version}|${sourceTs}|${op === 'delete' ? 'd' : 'u'}|${json}`;
}

export function decodeValue(field: string, value: string, bufferedAt: number): BufferedRecord {
  const first = value.indexOf('|');
  const second = value.indexOf('|', first + 1);
  const third = value.indexOf('|', second + 1);
  const opCode = value.slice(second + 1, third);
  if (first <= 0 || second <= first || third !== second + 2 || (opCode !== 'u' && opCode !== 'd')) {
    throw new Error(`malformed buffer value for '${field}'`);
  }
  const { tableKey, pk } = splitField(field);
  return {
    field,
    tableKey,
    pk,
    version: Number(value.slice(0, first)),
    sourceTs: Number(value.slice(first + 1, second)),
    op: opCode === 'd' ? 'delete' : 'upsert',
    json: value.slice(third + 1),
    bufferedAt,
  };
}

/** The entry a change record becomes in the buffer. */
export interface BufferEntry {
  shard: number;
  field: string;
  version: number;
  value: string;
}

/** `json` is the document text (null or ignored for deletes). */
export function toEntry(
  record: Pick<ChangeRecord, 'tableKey' | 'pk' | 'version' | 'sourceTs' | 'op'>,
  shard: number,
  json: string | null,
): BufferEntry {
  return {
    shard,
    field: recordField(record.tableKey, record.pk),
    version: record.version,
    value: encodeValue(
      record.version,
      record.sourceTs,
      record.op,
      record.op === 'delete' ? '' : (json ?? ''),
    ),
  };
}
