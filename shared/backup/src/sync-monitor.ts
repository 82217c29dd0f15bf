// sync_monitor: one row per flush batch (counts, times, status).
import type { Pool } from 'mysql2/promise';

export interface FlushBatchReport {
  shard: number;
  batchId: string;
  worker: string;
  tables: readonly string[];
  records: number;
  succeeded: number;
  refused: number;
  retried: number;
  dead: number;
  bytes: number;
  startTime: number;
  endTime: number;
  status: 'ok' | 'partial' | 'failed';
  error?: string;
}

export interface SyncMonitorSink {
  record(report: FlushBatchReport): Promise<void>;
}

export class SyncMonitorRepository implements SyncMonitorSink {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async record(r: FlushBatchReport): Promise<void> {
    await this.pool.query(
      `INSERT INTO sync_monitor (shard, sync_batch_id, worker, table_names, sync_count, success_count,
         refused_count, retry_count, failure_count, bytes, start_time, end_time, status, error_message)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        r.shard,
        r.batchId,
        r.worker.slice(0, 128),
        r.tables.join(',').slice(0, 1024),
        r.records,
        r.succeeded,
        r.refused,
        r.retried,
        r.dead,
        r.bytes,
        new Date(r.startTime),
        new Date(r.endTime),
        r.status,
        r.error?.slice(0, 4000) ?? null,
      ],
    );
  }

  /** Deletes rows older than the retention (bounded per call). */
  async purge(retentionMs: number, limit = 10_000): Promise<void> {
    await this.pool.query(
      'DELETE FROM sync_monitor WHERE start_time < CURRENT_TIMESTAMP(3) - INTERVAL ? MICROSECOND LIMIT ?',
      [retentionMs * 1000, limit],
    );
  }
}
