// The layout of the Redis Stream transport (docs/redis-stream.md), shared by `sluice relay` (the
// writer) and the redis-stream source of `sluice ingest` (the reader). Each stream's keys share the
// hash tag "{<prefix>:<cluster>:changes:<n>}", so on a Redis Cluster a stream, its relay state and
// its lease are in one slot (every script touches one slot) and the streams spread over the slots:
//
//   {<prefix>:<cluster>:changes:<n>}         stream n of N (SLUICE_STREAM_PARTITIONS); a table's
//                                            changes all go to stream hash(db.table) mod N, as
//                                            Canal's partitionHash routes a table to one partition
//   {<prefix>:<cluster>:changes:<n>}:relay   the relay's state: sequence, positions, writer per source
//   {<prefix>:<cluster>:changes:<n>}:lease   which ingest reads stream n now (SET NX PX, renewed)
//
// Entry ids are written explicitly as "<seq>-0", seq = 1, 2, 3 … per stream: dense and increasing
// like a Kafka partition's offsets, so versions are made exactly as on the Kafka path
// (generation × 2^44 + seq), and a second writer cannot interleave (XADD refuses an id at or below
// the stream's last). Fields: m (Canal's flat message JSON), pos (binlog file:offset), ts (ms).
// Earlier layouts had no hash tag ("<prefix>:<cluster>:changes:<n>"); the relay renames such keys
// at start (StreamWriter.adoptUntagged), so the sequences, and so the versions, go on.

import { fnv1a32 } from '@sluice/core';

export interface StreamLayout {
  prefix: string;
  cluster: string;
  partitions: number;
}

export function streamKey(layout: StreamLayout, partition: number): string {
  return `{${layout.prefix}:${layout.cluster}:changes:${partition}}`;
}

/** Stream n's key before the layout had hash tags (renamed by the relay at start). */
export function untaggedStreamKey(layout: StreamLayout, partition: number): string {
  return `${layout.prefix}:${layout.cluster}:changes:${partition}`;
}

export function streamLeaseKey(layout: StreamLayout, partition: number): string {
  return `${streamKey(layout, partition)}:lease`;
}

/** Every stream of the layout, by partition. */
export function streamKeys(layout: StreamLayout): string[] {
  return Array.from({ length: layout.partitions }, (_, n) => streamKey(layout, n));
}

/** The offset of an entry id "<seq>-0"; undefined for an id no relay writes. */
export function entryOffset(id: string): string | undefined {
  const match = /^(\d+)-0$/.exec(id);
  return match ? match[1] : undefined;
}

/** The id of the entry at an offset. */
export function entryId(offset: number | bigint): string {
  return `${offset}-0`;
}

/** Fair share of streams for one of `readers` ingest replicas (each takes at most this many). */
export function fairShare(partitions: number, readers: number): number {
  return Math.ceil(partitions / Math.max(1, readers));
}

/** The stream a table's changes go to (all of them: one table, one stream, in binlog order). */
export function streamOfTable(tableKey: string, partitions: number): number {
  return fnv1a32(tableKey) % partitions;
}
