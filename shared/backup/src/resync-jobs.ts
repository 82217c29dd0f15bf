// Checkpoints of re-sync jobs (backfill): the last primary key done and the rows so far, saved after
// every chunk, so a job killed at any moment resumes after its last chunk (resync_jobs, migration 003).
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface ResyncCheckpoint {
  after: string[] | undefined;
  rows: number;
  startedAt: number;
}

export interface ResyncJobRow extends ResyncCheckpoint {
  tableName: string;
  kind: string;
  updatedAt: number;
  finishedAt: number | null;
}

export class ResyncJobRepository {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /** The checkpoint of an unfinished job; undefined when there is none (or it finished). */
  async load(tableName: string, kind: string): Promise<ResyncCheckpoint | undefined> {
    const job = (await this.list(tableName)).find((j) => j.kind === kind);
    if (!job || job.finishedAt !== null) return undefined;
    return { after: job.after, rows: job.rows, startedAt: job.startedAt };
  }

  async save(tableName: string, kind: string, after: readonly string[], rows: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO resync_jobs (table_name, kind, after_key, rows_done, finished_time)
       VALUES (?, ?, ?, ?, NULL)
       ON DUPLICATE KEY UPDATE
         started_time = IF(finished_time IS NULL, started_time, CURRENT_TIMESTAMP(3)),
         after_key = VALUES(after_key), rows_done = VALUES(rows_done), finished_time = NULL`,
      [tableName, kind, JSON.stringify(after), rows],
    );
  }

  async finish(tableName: string, kind: string, rows: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO resync_jobs (table_name, kind, after_key, rows_done, finished_time)
       VALUES (?, ?, NULL, ?, CURRENT_TIMESTAMP(3))
       ON DUPLICATE KEY UPDATE after_key = NULL, rows_done = VALUES(rows_done),
         finished_time = CURRENT_TIMESTAMP(3)`,
      [tableName, kind, rows],
    );
  }

  async reset(tableName: string, kind: string): Promise<void> {
    await this.pool.query('DELETE FROM resync_jobs WHERE table_name = ? AND kind = ?', [tableName, kind]);
  }

  /** Every job (or one table's), newest first. */
  async list(tableName?: string): Promise<ResyncJobRow[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT table_name, kind, after_key, rows_done, started_time, updated_time, finished_time
       FROM resync_jobs ${tableName === undefined ? '' : 'WHERE table_name = ?'}
       ORDER BY updated_time DESC`,
      tableName === undefined ? [] : [tableName],
    );
    return rows.map((r) => ({
      tableName: String(r.table_name),
      kind: String(r.kind),
      after: r.after_key === null ? undefined : (JSON.parse(String(r.after_key)) as string[]),
      rows: Number(r.rows_done),
      startedAt: new Date(r.started_time).getTime(),
      updatedAt: new Date(r.updated_time).getTime(),
      finishedAt: r.finished_time === null ? null : new Date(r.finished_time).getTime(),
    }));
  }
}
