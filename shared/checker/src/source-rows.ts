// Which rows of a source table exist now, by encoded primary key: how the workers apply TRUNCATE and
// DROP TABLE (a document or buffered change whose row is gone is removed). Ids are compared in the
// form Canal gives the key columns, so only key types whose MySQL text equals Canal's are accepted.
import { type ColumnKind, columnType, decodePk, encodePk, splitTableKey } from '@sluice/core';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { quote, tableColumns } from './mysql-source.ts';

/** Key column kinds whose text is the same from Canal and from MySQL. */
const SAFE_KEY_KINDS = new Set<ColumnKind>(['integer', 'char', 'text', 'date', 'datetime', 'year']);

/** The table's key cannot be compared between Canal and MySQL: its rows cannot be looked up. */
export class KeyNotComparableError extends Error {
  override readonly name = 'KeyNotComparableError';
}

export interface SourceRows {
  /** The ids (of `ids`) whose row exists in the table now; none when the table does not exist. */
  existing(tableKey: string, ids: readonly string[]): Promise<Set<string>>;
}

export class MysqlSourceRows implements SourceRows {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async existing(tableKey: string, ids: readonly string[]): Promise<Set<string>> {
    const { database, table } = splitTableKey(tableKey);
    const { columns, pk } = await tableColumns(this.pool, database, table);
    const found = new Set<string>();
    if (pk.length === 0 || ids.length === 0) return found; // the table is gone (or has no key)
    for (const name of pk) {
      const kind = columnType(columns.find((c) => c.name === name)?.type ?? '').kind;
      if (!SAFE_KEY_KINDS.has(kind)) {
        throw new KeyNotComparableError(
          `${tableKey}: key column ${name} is of kind ${kind}, whose text may differ between Canal and MySQL`,
        );
      }
    }
    const keyList = pk.map(quote).join(', ');
    // A hashed (over-long) id cannot be looked up: it counts as existing, so it is never removed.
    const lookups: string[][] = [];
    for (const id of ids) {
      const values = decodePk(id);
      if (values === undefined || values.length !== pk.length) found.add(id);
      else lookups.push(values);
    }
    for (let i = 0; i < lookups.length; i += 500) {
      const chunk = lookups.slice(i, i + 500);
      const tuple = `(${pk.map(() => '?').join(', ')})`;
      const [rows] = await this.pool.query<RowDataPacket[]>({
        sql: `SELECT ${keyList} FROM ${quote(database)}.${quote(table)} WHERE (${keyList}) IN (${chunk.map(() => tuple).join(', ')})`,
        values: chunk.flat(),
        rowsAsArray: true,
        typeCast: (field) => field.string(),
      });
      for (const row of rows as unknown as Array<Array<string | null>>) {
        found.add(encodePk(row.map((v) => String(v))));
      }
    }
    return found;
  }
}
