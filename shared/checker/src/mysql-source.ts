// Reads a source table the way the pipeline sees it: every column typed by its MySQL type (values.ts,
// the same conversion Canal's strings go through), projected by the mapping, keyed by the encoded pk.
// TIMESTAMP columns are read in UTC (the session's time_zone is set to +00:00), FLOAT columns as the
// exact double of their float32 (MySQL's own text of a FLOAT keeps only 6 digits).
import {
  type ColumnType,
  columnType,
  emptyRow,
  encodePk,
  type Mapping,
  type Row,
  typeValue,
} from '@sluice/core';
import type { Connection, FieldPacket, Pool, PoolConnection, RowDataPacket, TypeCast } from 'mysql2/promise';

interface Column {
  name: string;
  type: string;
}

export async function tableColumns(
  db: Pool | Connection,
  database: string,
  table: string,
): Promise<{ columns: Column[]; pk: string[] }> {
  // MariaDB's JSON is LONGTEXT with a json_valid() check: reported as json, as Canal does.
  const [columns] = await db.query<RowDataPacket[]>(
    `SELECT c.COLUMN_NAME AS name,
       IF(cc.CONSTRAINT_NAME IS NULL, c.COLUMN_TYPE, 'json') AS type
     FROM information_schema.COLUMNS c
     LEFT JOIN information_schema.CHECK_CONSTRAINTS cc
       ON cc.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND cc.TABLE_NAME = c.TABLE_NAME
      AND cc.CHECK_CLAUSE = CONCAT('json_valid(\`', c.COLUMN_NAME, '\`)')
     WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ? ORDER BY c.ORDINAL_POSITION`,
    [database, table],
  );
  const [keys] = await db.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
    [database, table],
  );
  return {
    columns: columns.map((c) => ({ name: String(c.name), type: String(c.type) })),
    pk: keys.map((k) => String(k.name)),
  };
}

/** MySQL's text of an ENUM or SET value → the index or bitmask Canal sends for it. */
function asCanalSends(text: string, type: ColumnType): string {
  if (type.kind === 'enum' && type.labels) return String(text === '' ? 0 : type.labels.indexOf(text) + 1);
  if (type.kind === 'set' && type.labels) {
    let mask = 0n;
    for (const label of text === '' ? [] : text.split(',')) mask |= 1n << BigInt(type.labels.indexOf(label));
    return mask.toString();
  }
  return text;
}

/** A MySQL identifier, quoted. */
export const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/** Every row of the table as the document Sluice would index, by encoded pk. */
export async function readTableDocuments(
  db: Pool | Connection,
  database: string,
  table: string,
  mapping: Mapping,
): Promise<Map<string, Row>> {
  const route = mapping.route(database, table);
  if (route.action !== 'index') return new Map();
  const { columns, pk } = await tableColumns(db, database, table);
  if (pk.length === 0) throw new Error(`${database}.${table} has no primary key`);
  const types = new Map(columns.map((c) => [c.name, columnType(c.type)]));
  const select = columns
    .map((c) =>
      types.get(c.name)?.kind === 'float'
        ? `CAST(${quote(c.name)} AS DOUBLE) AS ${quote(c.name)}`
        : quote(c.name),
    )
    .join(', ');
  const pooled: PoolConnection | undefined = 'getConnection' in db ? await db.getConnection() : undefined;
  const conn = pooled ?? (db as Connection);
  let rows: unknown[][];
  try {
    await conn.query(`SET time_zone = '+00:00'`);
    [rows] = (await conn.query({
      sql: `SELECT ${select} FROM ${quote(database)}.${quote(table)}`,
      rowsAsArray: true,
      typeCast: canalForm(types),
    })) as [unknown[][], FieldPacket[]];
  } finally {
    pooled?.release();
  }
  const names = columns.map((c) => c.name);
  const out = new Map<string, Row>();
  for (const values of rows) {
    const row = emptyRow();
    const raw: Record<string, string | null> = {};
    names.forEach((name, i) => {
      const value = values[i] as string | null;
      raw[name] = value;
      row[name] = typeValue(value, types.get(name) ?? columnType('text'), { timeZone: 'UTC' });
    });
    const id = encodePk(pk.map((name) => String(raw[name])));
    out.set(id, route.mapping.project(row));
  }
  return out;
}

/**
 * Every value as Canal carries it: text, bytes (binary and spatial types) as ISO-8859-1 text, BIT as
 * a decimal number, ENUM as its 1-based index and SET as its bitmask.
 */
export function canalForm(types: ReadonlyMap<string, ColumnType>): TypeCast {
  return (field, next) => {
    const type = types.get(field.name);
    if (type === undefined) return next();
    if (type.kind === 'binary' || type.kind === 'bit' || type.kind === 'geometry') {
      const bytes = field.buffer();
      if (bytes === null) return null;
      return type.kind !== 'bit'
        ? bytes.toString('latin1')
        : BigInt(`0x${bytes.toString('hex') || '0'}`).toString();
    }
    const text = field.string();
    return text === null ? null : asCanalSends(text, type);
  };
}
