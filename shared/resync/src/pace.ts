// What every re-sync job shares: a rows-per-second throttle and MySQL's estimate of a table's rows.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'mysql2/promise';

/** Waits until `done` rows since `startedAt` are within `ratePerSecond` (0: no limit). */
export async function throttleRows(
  done: number,
  startedAt: number,
  ratePerSecond: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (ratePerSecond <= 0) return;
  const due = startedAt + (done / ratePerSecond) * 1000 - Date.now();
  if (due > 0) await sleep(due, undefined, signal ? { signal } : undefined);
}

/** Rows of a table as MySQL estimates them (information_schema), for an ETA. */
export async function estimateRows(source: Pool, database: string, table: string): Promise<number> {
  const [rows] = (await source.query(
    'SELECT TABLE_ROWS AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    [database, table],
  )) as [Array<{ n: number | null }>, unknown];
  return Number(rows[0]?.n ?? 0);
}
