// A source table read in primary-key order, one chunk at a time (keyset pagination: each chunk
// starts after the last key of the one before), each row typed and projected exactly as ingest would
// index it. Memory holds one chunk, whatever the table's size; a chunk's last key is the checkpoint
// a resumable job stores.
import {
  type ColumnType,
  columnType,
  decodePk,
  emptyRow,
  encodePk,
  type Row,
  type TableMapping,
  typeValue,
} from '@sluice/core';
import type { FieldPacket, Pool } from 'mysql2/promise';
import { canalForm, quote, tableColumns } from './mysql-source.ts';

export interface TableShape {
  database: string;
  table: string;
  columns: Array<{ name: string; type: ColumnType }>;
  /** Primary-key columns, in key order. */
  pk: string[];
}

export interface SourceRow {
  /** The encoded primary key: the document _id. */
  id: string;
  /** The key's values as read (the checkpoint of a chunk is its last row's key). */
  key: string[];
  doc: Row;
}

export async function tableShape(db: Pool, database: string, table: string): Promise<TableShape> {
  const { columns, pk } = await tableColumns(db, database, table);
  if (columns.length === 0) throw new Error(`${database}.${table} does not exist`);
  if (pk.length === 0) throw new Error(`${database}.${table} has no primary key`);
  return { database, table, columns: columns.map((c) => ({ name: c.name, type: columnType(c.type) })), pk };
}

/** "(a > ?) OR (a = ? AND b > ?) …": rows after a key, in a form every MySQL and MariaDB optimises. */
export function afterKeySql(pk: readonly string[]): string {
  return pk
    .map((_, i) => {
      const equal = pk.slice(0, i).map((name) => `${quote(name)} = ?`);
      return `(${[...equal, `${quote(pk[i] as string)} > ?`].join(' AND ')})`;
    })
    .join(' OR ');
}

/** A key's values as query parameters (binary key values go back as the bytes they were read as). */
export function keyParams(shape: TableShape, key: readonly string[]): Array<string | Buffer> {
  return shape.pk.map((name, i) => {
    const value = key[i] as string;
    return shape.columns.find((c) => c.name === name)?.type.kind === 'binary'
      ? Buffer.from(value, 'latin1')
      : value;
  });
}

/** The parameters of afterKeySql for a key. */
export function afterKeyParams(shape: TableShape, key: readonly string[]): Array<string | Buffer> {
  const params = keyParams(shape, key);
  return shape.pk.flatMap((_, i) => params.slice(0, i + 1));
}

/** Up to `limit` rows after `after` (from the start when undefined), in key order. */
export function readRowChunk(
  db: Pool,
  shape: TableShape,
  mapping: TableMapping,
  after: readonly string[] | undefined,
  limit: number,
): Promise<SourceRow[]> {
  const order = shape.pk.map(quote).join(', ');
  return selectRows(
    db,
    shape,
    mapping,
    `${after ? `WHERE ${afterKeySql(shape.pk)}` : ''} ORDER BY ${order} LIMIT ?`,
    [...(after ? afterKeyParams(shape, after) : []), limit],
  );
}

/** SELECT of every column, typed as Canal's values are (`rest`: WHERE / ORDER / LIMIT). */
async function selectRows(
  db: Pool,
  shape: TableShape,
  mapping: TableMapping,
  rest: string,
  values: Array<string | number | Buffer>,
): Promise<SourceRow[]> {
  const types = new Map(shape.columns.map((c) => [c.name, c.type]));
  const select = shape.columns
    .map((c) =>
      c.type.kind === 'float' ? `CAST(${quote(c.name)} AS DOUBLE) AS ${quote(c.name)}` : quote(c.name),
    )
    .join(', ');
  const conn = await db.getConnection();
  let rows: unknown[][];
  try {
    await conn.query(`SET time_zone = '+00:00'`);
    [rows] = (await conn.query({
      sql: `SELECT ${select} FROM ${quote(shape.database)}.${quote(shape.table)} ${rest}`,
      values,
      rowsAsArray: true,
      typeCast: canalForm(types),
    })) as [unknown[][], FieldPacket[]];
  } finally {
    conn.release();
  }
  const names = shape.columns.map((c) => c.name);
  const keyAt = shape.pk.map((name) => names.indexOf(name));
  return rows.map((values) => {
    const row = emptyRow();
    names.forEach((name, i) => {
      row[name] = typeValue(values[i] as string | null, types.get(name) as ColumnType, { timeZone: 'UTC' });
    });
    const key = keyAt.map((i) => String(values[i]));
    return { id: encodePk(key), key, doc: mapping.project(row) };
  });
}

/**
 * The rows of the given ids that exist now, typed and projected like a chunk. Ids of hashed
 * (over-long) keys cannot be looked up and are returned in `unreadable`.
 */
export async function readRowsByIds(
  db: Pool,
  shape: TableShape,
  mapping: TableMapping,
  ids: readonly string[],
): Promise<{ rows: SourceRow[]; unreadable: string[] }> {
  const unreadable: string[] = [];
  const keys: string[][] = [];
  for (const id of ids) {
    const key = decodePk(id);
    if (key === undefined || key.length !== shape.pk.length) unreadable.push(id);
    else keys.push(key);
  }
  const rows: SourceRow[] = [];
  const tuple = `(${shape.pk.map(() => '?').join(', ')})`;
  const keyList = shape.pk.map(quote).join(', ');
  for (let i = 0; i < keys.length; i += 500) {
    const part = keys.slice(i, i + 500);
    rows.push(
      ...(await selectRows(
        db,
        shape,
        mapping,
        `WHERE (${keyList}) IN (${part.map(() => tuple).join(', ')})`,
        part.flatMap((key) => keyParams(shape, key)),
      )),
    );
  }
  return { rows, unreadable };
}
