// The buffer's Redis layout, pure. Every key of a shard shares the hash tag "{<prefix>:<cluster>:<ss>}",
// so a shard lives in one Redis Cluster slot and each Lua script touches one slot.
//
//   {p:c:07}:rec       HASH  "<db>.<table>|<pk>" -> "<version>|<sourceTs>|<op>|<row json>"
//   {p:c:07}:pending   ZSET  field -> time first buffered (ms): oldest first, age of the shard
//   {p:c:07}:delay     ZSET  field -> when a failed record may be retried (ms)
//   {p:c:07}:attempts  HASH  field -> failed attempts
//   {p:c:07}:lock      the shard's flush lock (Redlock, worker/locks.ts)
import { type ChangeRecord, type Op, opCode, opOfCode, type RowState, shardLabel } from '@sluice/core';

export interface ShardKeys {
  rec: string;
  pending: string;
  delay: string;
  attempts: string;
}

function shardTag(prefix: string, cluster: string, shard: number): string {
  return `{${prefix}:${cluster}:${shardLabel(shard)}}`;
}

export function shardKeys(prefix: string, cluster: string, shard: number): ShardKeys {
  const tag = shardTag(prefix, cluster, shard);
  return { rec: `${tag}:rec`, pending: `${tag}:pending`, delay: `${tag}:delay`, attempts: `${tag}:attempts` };
}

/** The shard's flush lock (Redlock), in the shard's slot beside its buffer keys. */
export function shardLockKey(prefix: string, cluster: string, shard: number): string {
  return `${shardTag(prefix, cluster, shard)}:lock`;
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

/** What a flush needs to know about one buffered row: its state, where it is and since when. */
export interface BufferedRecord extends RowState {
  field: string;
  /** When the row was first buffered since its last flush (ms). */
  bufferedAt: number;
}

export function encodeValue(version: number, sourceTs: number, op: Op, json: string): string {
  return `${version}|${sourceTs}|${opCode(op)}|${json}`;
}

export function decodeValue(field: string, value: string, bufferedAt: number): BufferedRecord {
  const first = value.indexOf('|');
  const second = value.indexOf('|', first + 1);
  const third = value.indexOf('|', second + 1);
  const code = value.slice(second + 1, third);
  if (first <= 0 || second <= first || third !== second + 2 || (code !== 'u' && code !== 'd')) {
    throw new Error(`malformed buffer value for '${field}'`);
  }
  const { tableKey, pk } = splitField(field);
  return {
    field,
    tableKey,
    pk,
    version: Number(value.slice(0, first)),
    sourceTs: Number(value.slice(first + 1, second)),
    op: opOfCode(code),
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
