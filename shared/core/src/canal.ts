// Canal flat messages → ChangeRecords. Pure: no IO, no clock, no logging. A message that cannot be
// turned into records comes back as `invalid` with a dead-letter reason and a readable detail; it
// never throws for bad input.
//
// Shape (Canal 1.1.x, canal.mq.flatMessage=true): { id, database, table, pkNames, isDdl, type, es,
// ts, sql, sqlType, mysqlType, data, old }; every column value is a string or null. INSERT: data =
// after images. UPDATE: data = after images, old = previous values of the changed columns only.
// DELETE: data = before images. DDL: isDdl true, `sql` holds the statement.
import { type ChangeRecord, emptyRow, type Row, type SourcePosition } from './change.ts';
import type { DeadLetterReason } from './dead-letter.ts';
import { encodePk } from './pk.ts';
import { tableKey } from './shard.ts';
import { columnType, typeValue } from './values.ts';
import { makeVersion } from './version.ts';

export type RowType = 'INSERT' | 'UPDATE' | 'DELETE';
const ROW_TYPES = new Set<string>(['INSERT', 'UPDATE', 'DELETE']);
const DDL_TYPES = new Set<string>(['CREATE', 'ALTER', 'ERASE', 'RENAME', 'CINDEX', 'DINDEX', 'TRUNCATE']);

export interface ParseContext {
  position: SourcePosition;
  generation: number;
  /** Largest accepted row image, in bytes of its JSON text. */
  maxRowBytes: number;
}

type NonRowOutcome =
  | {
      kind: 'ddl';
      type: string;
      database: string;
      table: string;
      sql: string;
      /** Binlog time of the statement (Canal `es`, ms); 0 when the message has none. */
      sourceTs: number;
    }
  | { kind: 'ignored'; why: string }
  | { kind: 'invalid'; reason: DeadLetterReason; detail: string; database?: string; table?: string };

/** A decoded message: its changes carry the raw column values, typed later (typeRow). */
export type DecodeOutcome =
  | {
      kind: 'rows';
      type: RowType;
      database: string;
      table: string;
      changes: DecodedChange[];
      sourceTs: number;
    }
  | NonRowOutcome;

export type ParseOutcome =
  | {
      kind: 'rows';
      type: RowType;
      database: string;
      table: string;
      records: ChangeRecord[];
      sourceTs: number;
    }
  | NonRowOutcome;

/**
 * One row change before its values are typed: collapsing a batch by row first means only the
 * surviving (newest) change of each row pays for typing and serialising.
 */
export interface DecodedChange extends Omit<ChangeRecord, 'row'> {
  /** Column values as Canal sent them (strings or null); null for deletes. */
  data: Record<string, string | null> | null;
  /** Column name → MySQL type. */
  types: Record<string, string>;
  /** Column name → java.sql.Types code (decides which values arrived as bytes). */
  sqlTypes: Record<string, number>;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(
  reason: DeadLetterReason,
  detail: string,
  where?: { database?: string; table?: string },
): NonRowOutcome {
  return { kind: 'invalid', reason, detail, ...where };
}

function decode(raw: Buffer | string): unknown {
  return JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
}

/** Column values must be strings or null in a flat message. */
function rawColumns(value: unknown): Record<string, string | null> | undefined {
  if (!isObject(value)) return undefined;
  for (const v of Object.values(value)) {
    if (v !== null && typeof v !== 'string') return undefined;
  }
  return value as Record<string, string | null>;
}

function rowsOf(value: unknown): Array<Record<string, string | null>> | undefined {
  if (!Array.isArray(value)) return undefined;
  const rows: Array<Record<string, string | null>> = [];
  for (const item of value) {
    const row = rawColumns(item);
    if (!row) return undefined;
    rows.push(row);
  }
  return rows;
}

/**
 * The typed row of a decoded upsert (null-prototype object, values typed by their MySQL type, see
 * values.ts). `timeZone`: the zone Canal renders TIMESTAMP values in.
 */
export function typeRow(change: DecodedChange, timeZone = 'UTC'): Row | null {
  if (change.data === null) return null;
  const row: Row = emptyRow();
  const { types, sqlTypes } = change;
  for (const [name, value] of Object.entries(change.data)) {
    const type = columnType(Object.hasOwn(types, name) ? (types[name] as string) : '');
    const sqlType = Object.hasOwn(sqlTypes, name) ? sqlTypes[name] : undefined;
    row[name] = typeValue(value, type, { sqlType, timeZone });
  }
  return row;
}

export function toChangeRecord(change: DecodedChange, timeZone = 'UTC'): ChangeRecord {
  const { data: _data, types: _types, sqlTypes: _sqlTypes, ...rest } = change;
  return { ...rest, row: typeRow(change, timeZone) };
}

/** Decodes and types in one step (tests, replays); ingest decodes, collapses, then types. */
export function parseFlatMessage(raw: Buffer | string, ctx: ParseContext, timeZone = 'UTC'): ParseOutcome {
  const outcome = decodeFlatMessage(raw, ctx);
  if (outcome.kind !== 'rows') return outcome;
  const { changes, ...rest } = outcome;
  return { ...rest, records: changes.map((change) => toChangeRecord(change, timeZone)) };
}

export function decodeFlatMessage(raw: Buffer | string, ctx: ParseContext): DecodeOutcome {
  let message: unknown;
  try {
    message = decode(raw);
  } catch (error) {
    return invalid('invalid_json', `not JSON: ${(error as Error).message}`);
  }
  if (!isObject(message)) return invalid('invalid_shape', 'the message is not a JSON object');

  const { type, isDdl } = message;
  if (typeof type !== 'string') return invalid('invalid_shape', 'field "type" must be a string');
  const database = typeof message.database === 'string' ? message.database : '';
  const table = typeof message.table === 'string' ? message.table : '';
  const where = { database, table };

  if (isDdl === true || DDL_TYPES.has(type)) {
    const sql = typeof message.sql === 'string' ? message.sql : '';
    const sourceTs = typeof message.es === 'number' && Number.isFinite(message.es) ? message.es : 0;
    return { kind: 'ddl', type, database, table, sql, sourceTs };
  }
  if (type === 'QUERY') return { kind: 'ignored', why: 'QUERY event (statement text, no row data)' };
  if (!ROW_TYPES.has(type))
    return invalid('unknown_type', `unknown message type '${type.slice(0, 40)}'`, where);
  if (isDdl !== false && isDdl !== undefined)
    return invalid('invalid_shape', 'field "isDdl" must be a boolean', where);
  if (database === '' || table === '')
    return invalid('invalid_shape', 'fields "database" and "table" must be non-empty strings', where);

  const pkNames = message.pkNames;
  if (pkNames === null || pkNames === undefined || (Array.isArray(pkNames) && pkNames.length === 0)) {
    return invalid('missing_pk', `table ${database}.${table} has no primary key in the message`, where);
  }
  if (!Array.isArray(pkNames) || !pkNames.every((n) => typeof n === 'string')) {
    return invalid('invalid_shape', 'field "pkNames" must be an array of strings', where);
  }
  const data = rowsOf(message.data);
  if (!data || data.length === 0)
    return invalid('invalid_shape', 'field "data" must be a non-empty array of row objects', where);
  const old = message.old === null || message.old === undefined ? undefined : rowsOf(message.old);
  if (message.old !== null && message.old !== undefined && (!old || old.length !== data.length)) {
    return invalid(
      'invalid_shape',
      'field "old" must be null or an array of row objects as long as "data"',
      where,
    );
  }
  const mysqlType = message.mysqlType === null || message.mysqlType === undefined ? {} : message.mysqlType;
  if (!isObject(mysqlType) || !Object.values(mysqlType).every((t) => typeof t === 'string')) {
    return invalid('invalid_shape', 'field "mysqlType" must map column names to type strings', where);
  }
  const sqlType = message.sqlType === null || message.sqlType === undefined ? {} : message.sqlType;
  if (!isObject(sqlType) || !Object.values(sqlType).every((t) => typeof t === 'number')) {
    return invalid('invalid_shape', 'field "sqlType" must map column names to numbers', where);
  }
  const es = message.es;
  if (typeof es !== 'number' || !Number.isFinite(es))
    return invalid('invalid_shape', 'field "es" must be a number', where);

  let version: number;
  try {
    version = makeVersion(ctx.generation, ctx.position.offset);
  } catch (error) {
    return invalid('invalid_shape', (error as Error).message, where);
  }

  const key = tableKey(database, table);
  const types = mysqlType as Record<string, string>;
  const sqlTypes = sqlType as Record<string, number>;
  const base = { database, table, tableKey: key, version, sourceTs: es, position: ctx.position };
  const changes: DecodedChange[] = [];

  for (let i = 0; i < data.length; i++) {
    const after = data[i] as Record<string, string | null>;
    const pkValues: string[] = [];
    for (const name of pkNames as string[]) {
      const value = Object.hasOwn(after, name) ? after[name] : undefined;
      if (typeof value !== 'string') {
        return invalid(
          'pk_column_absent',
          `row ${i}: primary-key column '${name}' is ${value === null ? 'NULL' : 'absent'}`,
          where,
        );
      }
      pkValues.push(value);
    }
    const pk = encodePk(pkValues);

    if (type === 'DELETE') {
      changes.push({ ...base, pk, op: 'delete', data: null, types, sqlTypes });
      continue;
    }

    // An UPDATE that changes the primary key: the old id disappears, the new one is written.
    const previous = old?.[i];
    if (type === 'UPDATE' && previous && (pkNames as string[]).some((n) => Object.hasOwn(previous, n))) {
      const oldValues = (pkNames as string[]).map((n) =>
        Object.hasOwn(previous, n) ? previous[n] : after[n],
      );
      if (oldValues.some((v) => typeof v !== 'string')) {
        return invalid('pk_column_absent', `row ${i}: an old primary-key value is NULL`, where);
      }
      const oldPk = encodePk(oldValues as string[]);
      if (oldPk !== pk) changes.push({ ...base, pk: oldPk, op: 'delete', data: null, types, sqlTypes });
    }

    let bytes = 2;
    for (const name in after) bytes += name.length + (after[name]?.length ?? 4) + 6;
    if (bytes > ctx.maxRowBytes) {
      const size = Buffer.byteLength(JSON.stringify(after));
      if (size > ctx.maxRowBytes) {
        return invalid(
          'row_too_large',
          `row ${i} is ${size} bytes, above the limit of ${ctx.maxRowBytes}`,
          where,
        );
      }
    }
    changes.push({ ...base, pk, op: 'upsert', data: after, types, sqlTypes });
  }
  return { kind: 'rows', type: type as RowType, database, table, changes, sourceTs: es };
}

/**
 * Keeps one record per (table, pk): the last one in input order, which is the newest (records come
 * in offset order and, inside a message, in row order). Returns the survivors and how many merged.
 */
export function collapseByRow<T extends Pick<ChangeRecord, 'tableKey' | 'pk' | 'version'>>(
  records: readonly T[],
): { records: T[]; merged: number } {
  const latest = new Map<string, T>();
  for (const record of records) {
    const id = `${record.tableKey}\u0000${record.pk}`;
    const seen = latest.get(id);
    if (seen && seen.version > record.version) continue;
    latest.delete(id);
    latest.set(id, record);
  }
  return { records: [...latest.values()], merged: records.length - latest.size };
}
