// A check run over several tables, stored as one report: what `sluice check` and the nightly check
// both do. Tables the mapping does not index are skipped.
import { type Mapping, splitTableKey } from '@sluice/core';
import type { EsApi } from '@sluice/sink';
import type { Pool, RowDataPacket } from 'mysql2/promise';
import { checkTable, type TableCheckOptions, type TableCheckReport } from './table-check.ts';

export interface CheckReportSink {
  startRun(trigger: 'cli' | 'nightly', scheduleKey?: string): Promise<number | undefined>;
  addTable(runId: number, report: TableCheckReport): Promise<void>;
  finishRun(runId: number): Promise<void>;
}

const SYSTEM_SCHEMAS = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

/** Every base table of the source that the mapping indexes, as <db>.<table>. */
export async function mappedTables(db: Pool, mapping: Mapping): Promise<string[]> {
  const [rows] = await db.query<RowDataPacket[]>(
    "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
  );
  return rows
    .filter((r) => !SYSTEM_SCHEMAS.has(String(r.db)))
    .filter((r) => mapping.route(String(r.db), String(r.name)).action === 'index')
    .map((r) => `${String(r.db)}.${String(r.name)}`);
}

export interface CheckRunResult {
  /** undefined: a scheduled run that had run already (another worker, or before). */
  runId: number | undefined;
  tables: TableCheckReport[];
}

export async function runChecks(
  deps: { db: Pool; es: EsApi; mapping: Mapping; reports: CheckReportSink },
  tables: readonly string[],
  run: { trigger: 'cli' | 'nightly'; scheduleKey?: string },
  options: TableCheckOptions & { onTable?: (table: string) => TableCheckOptions['onProgress'] } = {},
): Promise<CheckRunResult> {
  const runId = await deps.reports.startRun(run.trigger, run.scheduleKey);
  if (runId === undefined) return { runId, tables: [] };
  const done: TableCheckReport[] = [];
  for (const table of tables) {
    const { database, table: name } = splitTableKey(table);
    if (deps.mapping.route(database, name).action !== 'index') continue;
    const onProgress = options.onTable?.(table);
    const report = await checkTable(deps.db, deps.es, deps.mapping, table, {
      ...options,
      ...(onProgress ? { onProgress } : {}),
    });
    await deps.reports.addTable(runId, report);
    done.push(report);
  }
  await deps.reports.finishRun(runId);
  return { runId, tables: done };
}
