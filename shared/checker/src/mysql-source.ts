// Reads a source table the way the pipeline sees it: every column typed by its MySQL type (values.ts,
// the same conversion Canal's strings go through), projected by the mapping, keyed by the encoded pk.
import {
  type ColumnType,
  columnType,
  emptyRow,
  encodePk,
  type Mapping,
  type Row,
  typeValue,
} from '@sluice/core';
import type { Connection, FieldPacket, Pool, RowDataPacket } from 'mysql2/promise';

interface Column {
  name: string;
  type: string;
}

export async function tableColumns(
  db: Pool | Connection,
  database: string,
  table: string,
): Promise<{ columns: Column[]; pk: string[] }> {
  const [columns] = await db.query<RowDataPacket[]>(
    `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS
     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
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

const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;

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
  const [rows] = (await db.query({
    sql: `SELECT * FROM ${quote(database)}.${quote(table)}`,
    rowsAsArray: true,
    // Every value as Canal carries it: text, bytes as ISO-8859-1 text, BIT as a decimal number,
    // ENUM as its 1-based index and SET as its bitmask.
    typeCast: (field, next) => {
      const type = types.get(field.name);
      if (type === undefined) return next();
      if (type.kind === 'binary' || type.kind === 'bit') {
        const bytes = field.buffer();
        if (bytes === null) return null;
        return type.kind === 'binary'
          ? bytes.toString('latin1')
          : BigInt(`0x${bytes.toString('hex') || '0'}`).toString();
      }
      const text = field.string();
      return text === null ? null : asCanalSends(text, type);
    },
  })) as [unknown[][], FieldPacket[]];
  const names = columns.map((c) => c.name);
  const out = new Map<string, Row>();
  for (const values of rows) {
    const row = emptyRow();
    const raw: Record<string, string | null> = {};
    names.forEach((name, i) => {
      const value = values[i] as string | null;
      raw[name] = value;
      row[name] = typeValue(value, types.get(name) ?? { kind: 'string' });
    });
    const id = encodePk(pk.map((name) => String(raw[name])));
    out.set(id, route.mapping.project(row));
  }
  return out;
}
