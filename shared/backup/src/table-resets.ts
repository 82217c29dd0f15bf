// TRUNCATE and DROP TABLE as data: a fence per table (the statement's binlog time) and a sweep per
// shard that holds the table's rows. Ingest writes both in the batch's transaction (commitBatch);
// the shard's owner runs the sweep and validates buffered changes older than the fence.
import type { Pool, PoolConnection, ResultSetHeader, RowDataPacket } from 'mysql2/promise';

export interface TableReset {
  tableName: string;
  /** Binlog time of the statement (Canal `es`, ms). */
  fenceTs: number;
  kind: string;
  statement: string;
  /** Shards whose documents of the table must be swept. */
  shards: readonly number[];
}

export interface Sweep {
  tableName: string;
  shard: number;
  fenceTs: number;
}

/** Writes resets inside the caller's transaction; a newer fence replaces an older one, never back. */
export async function writeTableResets(
  connection: PoolConnection,
  resets: readonly TableReset[],
): Promise<void> {
  for (const reset of resets) {
    await connection.query(
      `INSERT INTO table_fences (table_name, fence_ts, kind, statement) VALUES (?, ?, ?, ?)
       ON DUPLICATE KEY UPDATE
         kind = IF(VALUES(fence_ts) >= fence_ts, VALUES(kind), kind),
         statement = IF(VALUES(fence_ts) >= fence_ts, VALUES(statement), statement),
         fence_ts = GREATEST(fence_ts, VALUES(fence_ts))`,
      [reset.tableName, reset.fenceTs, reset.kind, reset.statement.slice(0, 60_000)],
    );
    if (reset.shards.length === 0) continue;
    const values = reset.shards.map(() => '(?, ?, ?)').join(', ');
    await connection.query(
      `INSERT INTO table_sweeps (table_name, shard, fence_ts) VALUES ${values}
       ON DUPLICATE KEY UPDATE fence_ts = GREATEST(fence_ts, VALUES(fence_ts))`,
      reset.shards.flatMap((shard) => [reset.tableName, shard, reset.fenceTs]),
    );
  }
}

/** What a flush needs. */
export interface ResetSource {
  /** Table → newest fence time. */
  fences(): Promise<Map<string, number>>;
  pendingSweeps(shard: number): Promise<Sweep[]>;
  /** Marks a sweep done unless a newer fence arrived meanwhile. */
  sweepDone(sweep: Sweep): Promise<void>;
}

export class TableResetRepository implements ResetSource {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async fences(): Promise<Map<string, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT table_name, fence_ts FROM table_fences');
    return new Map(rows.map((r) => [String(r.table_name), Number(r.fence_ts)]));
  }

  async pendingSweeps(shard: number): Promise<Sweep[]> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT table_name, fence_ts FROM table_sweeps WHERE shard = ? ORDER BY created_time',
      [shard],
    );
    return rows.map((r) => ({ tableName: String(r.table_name), shard, fenceTs: Number(r.fence_ts) }));
  }

  async sweepDone(sweep: Sweep): Promise<void> {
    await this.pool.query<ResultSetHeader>(
      'DELETE FROM table_sweeps WHERE shard = ? AND table_name = ? AND fence_ts = ?',
      [sweep.shard, sweep.tableName, sweep.fenceTs],
    );
  }
}
