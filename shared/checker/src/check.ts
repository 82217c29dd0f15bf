// `sluice check`: compares every mapped table of the chosen databases (or the chosen tables) with
// its index.

import { type Mapping, splitTableKey } from '@sluice/core';
import type { EsApi } from '@sluice/sink';
import type { Connection, Pool, RowDataPacket } from 'mysql2/promise';
import { diffDocuments, type TableDiff } from './compare.ts';
import { readIndexDocuments } from './es-target.ts';
import { readTableDocuments } from './mysql-source.ts';

export async function tablesOf(db: Pool | Connection, database: string): Promise<string[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME",
    [database],
  );
  return rows.map((r) => `${database}.${String(r.name)}`);
}

export async function checkTables(
  db: Pool | Connection,
  es: EsApi,
  mapping: Mapping,
  tableKeys: readonly string[],
): Promise<TableDiff[]> {
  const diffs: TableDiff[] = [];
  for (const key of tableKeys) {
    const { database, table } = splitTableKey(key);
    const route = mapping.route(database, table);
    if (route.action !== 'index') continue;
    const rows = await readTableDocuments(db, database, table, mapping);
    const docs = await readIndexDocuments(es, route.mapping.index);
    diffs.push(diffDocuments(key, route.mapping.index, rows, docs));
  }
  return diffs;
}
