// Reports of consistency checks (migration 004): a run, its tables' counts, and the differing ids
// that `sluice repair --from-last-check` repairs.
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

/** One table's check: counts after the second look, and the differing ids kept. */
export interface CheckedTable {
  table: string;
  index: string;
  rows: number;
  docs: number;
  missing: number;
  stale: number;
  extra: number;
  /** Differences first seen that were in step, or in flux, at the second look. */
  settled: number;
  /** More differences were found than ids kept. */
  truncated: boolean;
  durationMs: number;
  /** The differing ids, up to the number kept per kind. */
  ids: Record<'missing' | 'stale' | 'extra', string[]>;
}

export interface CheckRun {
  id: number;
  trigger: string;
  startedAt: number;
  finishedAt: number | null;
  tables: Array<Omit<CheckedTable, 'ids'> & { checkedAt: number }>;
}

export class CheckReportRepository {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /**
   * A new run. With a schedule key (the scheduled job's id), at most one finished run per key: a key
   * whose run finished gives undefined (it ran already); one whose run did not finish (its worker
   * died) is taken over, its partial tables removed.
   */
  async startRun(trigger: 'cli' | 'nightly', scheduleKey?: string): Promise<number | undefined> {
    if (scheduleKey !== undefined) {
      const [found] = await this.pool.query<RowDataPacket[]>(
        'SELECT id, finished_time FROM check_runs WHERE schedule_key = ?',
        [scheduleKey],
      );
      const previous = found[0];
      if (previous && previous.finished_time !== null) return undefined;
      if (previous) {
        await this.pool.query('DELETE FROM check_differences WHERE run_id = ?', [previous.id]);
        await this.pool.query('DELETE FROM check_tables WHERE run_id = ?', [previous.id]);
        return Number(previous.id);
      }
    }
    try {
      const [result] = await this.pool.query<ResultSetHeader>(
        'INSERT INTO check_runs (trigger_kind, schedule_key) VALUES (?, ?)',
        [trigger, scheduleKey ?? null],
      );
      return result.insertId;
    } catch (error) {
      // Another worker started the same scheduled run at the same moment.
      if ((error as { code?: string }).code === 'ER_DUP_ENTRY') return undefined;
      throw error;
    }
  }

  async addTable(runId: number, t: CheckedTable): Promise<void> {
    const conn = await this.pool.getConnection();
    try {
      await conn.beginTransaction();
      await conn.query(
        `INSERT INTO check_tables (run_id, table_name, index_name, rows_count, docs_count, missing, stale,
           extra, settled, truncated, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          runId,
          t.table,
          t.index,
          t.rows,
          t.docs,
          t.missing,
          t.stale,
          t.extra,
          t.settled,
          t.truncated ? 1 : 0,
          t.durationMs,
        ],
      );
      const ids = (['missing', 'stale', 'extra'] as const).flatMap((kind) =>
        t.ids[kind].map((id) => [kind, id]),
      );
      for (let i = 0; i < ids.length; i += 1000) {
        const part = ids.slice(i, i + 1000);
        await conn.query(
          `INSERT IGNORE INTO check_differences (run_id, table_name, doc_id, kind) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`,
          part.flatMap(([kind, id]) => [runId, t.table, id, kind]),
        );
      }
      await conn.commit();
    } catch (error) {
      await conn.rollback().catch(() => undefined);
      throw error;
    } finally {
      conn.release();
    }
  }

  async finishRun(runId: number): Promise<void> {
    await this.pool.query('UPDATE check_runs SET finished_time = CURRENT_TIMESTAMP(3) WHERE id = ?', [runId]);
  }

  /** The newest finished run with its tables; undefined before the first. */
  async lastRun(): Promise<CheckRun | undefined> {
    const [runs] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, trigger_kind, started_time, finished_time FROM check_runs WHERE finished_time IS NOT NULL ORDER BY id DESC LIMIT 1',
    );
    const run = runs[0];
    if (!run) return undefined;
    const [tables] = await this.pool.query<RowDataPacket[]>(
      'SELECT * FROM check_tables WHERE run_id = ? ORDER BY table_name',
      [run.id],
    );
    return {
      id: Number(run.id),
      trigger: String(run.trigger_kind),
      startedAt: new Date(run.started_time).getTime(),
      finishedAt: run.finished_time === null ? null : new Date(run.finished_time).getTime(),
      tables: tables.map((t) => ({
        table: String(t.table_name),
        index: String(t.index_name),
        rows: Number(t.rows_count),
        docs: Number(t.docs_count),
        missing: Number(t.missing),
        stale: Number(t.stale),
        extra: Number(t.extra),
        settled: Number(t.settled),
        truncated: Number(t.truncated) === 1,
        durationMs: Number(t.duration_ms),
        checkedAt: new Date(t.checked_time).getTime(),
      })),
    };
  }

  /** The differing ids of a table in the newest run that checked it. */
  async lastDifferences(
    table: string,
  ): Promise<{ runId: number; ids: Array<{ id: string; kind: string }> } | undefined> {
    const [runs] = await this.pool.query<RowDataPacket[]>(
      `SELECT t.run_id FROM check_tables t JOIN check_runs r ON r.id = t.run_id
       WHERE t.table_name = ? AND r.finished_time IS NOT NULL ORDER BY t.run_id DESC LIMIT 1`,
      [table],
    );
    const runId = runs[0]?.run_id;
    if (runId === undefined) return undefined;
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT doc_id, kind FROM check_differences WHERE run_id = ? AND table_name = ? ORDER BY doc_id',
      [runId, table],
    );
    return { runId: Number(runId), ids: rows.map((r) => ({ id: String(r.doc_id), kind: String(r.kind) })) };
  }
}
