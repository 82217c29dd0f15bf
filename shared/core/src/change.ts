// The change model: one ChangeRecord per changed row, whatever the source format.

export type Op = 'upsert' | 'delete';

/** An operation as one letter, as the buffer's values and the backup table store it. */
export type OpCode = 'u' | 'd';

export function opCode(op: Op): OpCode {
  return op === 'delete' ? 'd' : 'u';
}

/** A stored letter, checked: anything but 'u' or 'd' is a malformed value. */
export function asOpCode(code: string): OpCode {
  if (code === 'u' || code === 'd') return code;
  throw new Error(`unknown operation code '${code}' (expected 'u' or 'd')`);
}

/** The operation of a stored letter (checked). */
export function opOfCode(code: string): Op {
  return asOpCode(code) === 'd' ? 'delete' : 'upsert';
}

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

/**
 * A row's state at one version, as it is stored between ingest and flush: what the buffer holds for
 * it, what its backup row keeps and what a flush writes (pipeline/records.ts turns it into each form).
 */
export interface RowState {
  tableKey: string;
  /** Encoded primary key: the document _id. */
  pk: string;
  version: number;
  sourceTs: number;
  op: Op;
  /** The document as JSON text; empty for deletes. */
  json: string;
}
