// Reindex jobs (reindex_jobs, migration 005): which aliases are being rebuilt into which physical
// index — what the workers' flushes write to as well — and each rebuild's checkpoint.
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface ReindexCheckpoint {
  table: string;
  key: string[];
}

export interface ReindexJob {
  alias: string;
  sourceIndex: string | null;
  target: string;
  state: 'building' | 'done' | 'aborted';
  after: ReindexCheckpoint | undefined;
  rows: number;
  error: string | null;
  startedAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/** What the flush needs: the extra index each alias's writes also go to, read fresh per batch. */
export interface DualWriteTargets {
  current(): Promise<ReadonlyMap<string, string>>;
}

export class ReindexJobRepository implements DualWriteTargets {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async current(): Promise<ReadonlyMap<string, string>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      "SELECT alias_name, target_index FROM reindex_jobs WHERE state = 'building'",
    );
    return new Map(rows.map((r) => [String(r.alias_name), String(r.target_index)]));
  }

  /** Starts (or starts again) the job of an alias; from here on the flushes write to `target` too. */
  async start(alias: string, sourceIndex: string | null, target: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO reindex_jobs (alias_name, source_index, target_index, state, after_key, rows_done,
         error, started_time, finished_time)
       VALUES (?, ?, ?, 'building', NULL, 0, NULL, CURRENT_TIMESTAMP(3), NULL)
       ON DUPLICATE KEY UPDATE source_index = VALUES(source_index), target_index = VALUES(target_index),
         state = 'building', after_key = NULL, rows_done = 0, error = NULL,
         started_time = CURRENT_TIMESTAMP(3), finished_time = NULL`,
      [alias, sourceIndex, target],
    );
  }

  async checkpoint(alias: string, after: ReindexCheckpoint, rows: number): Promise<void> {
    await this.pool.query(
      "UPDATE reindex_jobs SET after_key = ?, rows_done = ? WHERE alias_name = ? AND state = 'building'",
      [JSON.stringify(after), rows, alias],
    );
  }

  /** Ends the job (done or aborted); the flushes stop writing to its target. */
  async end(alias: string, state: 'done' | 'aborted', error?: string): Promise<void> {
    await this.pool.query(
      `UPDATE reindex_jobs SET state = ?, error = ?, finished_time = CURRENT_TIMESTAMP(3)
       WHERE alias_name = ?`,
      [state, error ?? null, alias],
    );
  }

  /**
   * Holds the alias's job for this process: a MySQL named lock on a connection of its own, released
   * by the returned function (or by the server when the process dies). Throws when another run holds it.
   */
  async hold(alias: string): Promise<() => Promise<void>> {
    const connection = await this.pool.getConnection();
    const name = `sluice_reindex:${alias}`.slice(0, 64);
    try {
      const [rows] = await connection.query<RowDataPacket[]>('SELECT GET_LOCK(?, 0) AS got', [name]);
      if (Number(rows[0]?.got) !== 1) throw new Error(`another sluice reindex of ${alias} is running`);
    } catch (error) {
      connection.release();
      throw error;
    }
    return async () => {
      try {
        await connection.query('SELECT RELEASE_LOCK(?)', [name]);
      } finally {
        connection.release();
      }
    };
  }

  async load(alias: string): Promise<ReindexJob | undefined> {
    return (await this.list(alias))[0];
  }

  /** Every job (or one alias's), newest first. */
  async list(alias?: string): Promise<ReindexJob[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT alias_name, source_index, target_index, state, after_key, rows_done, error, started_time,
         updated_time, finished_time
       FROM reindex_jobs ${alias === undefined ? '' : 'WHERE alias_name = ?'} ORDER BY updated_time DESC`,
      alias === undefined ? [] : [alias],
    );
    return rows.map((r) => ({
      alias: String(r.alias_name),
      sourceIndex: r.source_index === null ? null : String(r.source_index),
      target: String(r.target_index),
      state: String(r.state) as ReindexJob['state'],
      after: r.after_key === null ? undefined : (JSON.parse(String(r.after_key)) as ReindexCheckpoint),
      rows: Number(r.rows_done),
      error: r.error === null ? null : String(r.error),
      startedAt: new Date(r.started_time).getTime(),
      updatedAt: new Date(r.updated_time).getTime(),
      finishedAt: r.finished_time === null ? null : new Date(r.finished_time).getTime(),
    }));
  }
}
