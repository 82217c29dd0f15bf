// The change model: one ChangeRecord per changed row, whatever the source format.

export type Op = 'upsert' | 'delete';

/** A column value after typing by its MySQL type (see values.ts). */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** A row image with a null prototype, so column names such as "__proto__" are plain keys. */
export type Row = Record<string, Value>;

export interface SourcePosition {
  topic: string;
  partition: number;
  /** Kafka offset as a decimal string (kafkajs convention). */
  offset: string;
}

export interface ChangeRecord {
  database: string;
  table: string;
  /** "<database>.<table>" */
  tableKey: string;
  /** Encoded primary key (pk.ts): the Elasticsearch _id and the buffer field. */
  pk: string;
  op: Op;
  /** After image for upserts; null for deletes. */
  row: Row | null;
  /** Orders this change against every other change of the row (version.ts). */
  version: number;
  /** Source commit time in ms since the epoch (Canal's `es`: binlog event time, 1 s resolution). */
  sourceTs: number;
  position: SourcePosition;
}

export function emptyRow(): Row {
  return Object.create(null) as Row;
}
