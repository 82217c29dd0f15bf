// The backup table and source progress. A batch of ingest writes goes in one transaction: the rows
// and the partitions' applied offsets move together.

import { asOpCode, retry } from '@sluice/core';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import {
  type BackupRow,
  progressSql,
  type SettledRow,
  SYNC_STATE,
  settleBackupSql,
  upsertBackupSql,
} from './backup-sql.ts';
import { chunkByBytes, STATEMENT_BYTES } from './chunk.ts';
import { type TableReset, writeTableResets } from './table-resets.ts';

export interface PartitionProgress {
  topic: string;
  partition: number;
  generation: number;
  offset: number;
}

export interface UnsyncedRow extends BackupRow {
  updatedTime: number;
}

/** What ingest needs. */
export interface BackupWriter {
  commitBatch(
    rows: readonly BackupRow[],
    progress: readonly PartitionProgress[],
    resets?: readonly TableReset[],
  ): Promise<void>;
  appliedOffsets(topic: string, generation: number): Promise<Map<number, number>>;
  tablePartition(
    tableName: string,
    generation: number,
    topic: string,
    partition: number,
  ): Promise<{ topic: string; partition: number }>;
}

/** What a flush needs. */
export interface BackupSettler {
  settle(shard: number, rows: readonly SettledRow[], state: 'synced' | 'dead'): Promise<number>;
}

const CHUNK = 500;

export class BackupRepository implements BackupWriter, BackupSettler {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  async commitBatch(
    rows: readonly BackupRow[],
    progress: readonly PartitionProgress[],
    resets: readonly TableReset[] = [],
  ): Promise<void> {
    if (rows.length === 0 && progress.length === 0 && resets.length === 0) return;
    // Rows in key order: writers of the same rows (ingest, backfill, repair) take their locks in one
    // order, and a deadlock InnoDB still reports (it rolled the whole transaction back) is retried.
    const ordered = [...rows].sort(
      (a, b) =>
        a.shard - b.shard ||
        (a.tableName < b.tableName ? -1 : a.tableName > b.tableName ? 1 : 0) ||
        (a.primaryKey < b.primaryKey ? -1 : a.primaryKey > b.primaryKey ? 1 : 0),
    );
    await retry('backup transaction', () => this.commitOnce(ordered, progress, resets), {
      attempts: 5,
      baseDelayMs: 50,
      maxDelayMs: 1000,
      shouldRetry: isDeadlock,
    });
  }

  private async commitOnce(
    rows: readonly BackupRow[],
    progress: readonly PartitionProgress[],
    resets: readonly TableReset[],
  ): Promise<void> {
    const connection = await this.pool.getConnection();
    try {
      await connection.beginTransaction();
      for (const chunk of chunkByBytes(rows, (r) => 200 + (r.data?.length ?? 0), STATEMENT_BYTES, CHUNK)) {
        const { sql, params } = upsertBackupSql(chunk);
        await connection.query(sql, params);
      }
      await writeTableResets(connection, resets);
      if (progress.length > 0) {
        const { sql, params } = progressSql(progress);
        await connection.query(sql, params);
      }
      await connection.commit();
    } catch (error) {
      await connection.rollback().catch(() => undefined);
      throw error;
    } finally {
      connection.release();
    }
  }

  async appliedOffsets(topic: string, generation: number): Promise<Map<number, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT kafka_partition, applied_offset FROM source_progress WHERE topic = ? AND generation = ?',
      [topic, generation],
    );
    return new Map(rows.map((r) => [Number(r.kafka_partition), Number(r.applied_offset)]));
  }

  /** Records where a table arrives (first sight wins) and returns the recorded place. */
  async tablePartition(
    tableName: string,
    generation: number,
    topic: string,
    partition: number,
  ): Promise<{ topic: string; partition: number }> {
    await this.pool.query(
      'INSERT IGNORE INTO source_tables (table_name, generation, topic, kafka_partition) VALUES (?, ?, ?, ?)',
      [tableName, generation, topic, partition],
    );
    const place = await this.tablePlace(tableName, generation);
    if (!place) throw new Error(`source_tables has no row for ${tableName} after inserting it`);
    return place;
  }

  /** Where ingest first saw a table in a generation; undefined when it has not seen it yet. */
  async tablePlace(
    tableName: string,
    generation: number,
  ): Promise<{ topic: string; partition: number } | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT topic, kafka_partition FROM source_tables WHERE table_name = ? AND generation = ?',
      [tableName, generation],
    );
    const row = rows[0];
    return row ? { topic: String(row.topic), partition: Number(row.kafka_partition) } : undefined;
  }

  async settle(shard: number, rows: readonly SettledRow[], state: 'synced' | 'dead'): Promise<number> {
    let changed = 0;
    for (let i = 0; i < rows.length; i += CHUNK) {
      const { sql, params } = settleBackupSql(shard, rows.slice(i, i + CHUNK), SYNC_STATE[state]);
      const [result] = await this.pool.query<ResultSetHeader>(sql, params);
      changed += result.affectedRows;
    }
    return changed;
  }

  /** Makes a dead-lettered row pending again (its dead letter is being replayed). */
  async reopen(shard: number, row: SettledRow): Promise<number> {
    const [result] = await this.pool.query<ResultSetHeader>(
      `UPDATE buffer_backup SET sync_state = 0, synced_time = NULL
       WHERE shard = ? AND table_name = ? AND primary_key = ? AND version = ? AND sync_state = 2`,
      [shard, row.tableName, row.primaryKey, row.version],
    );
    return result.affectedRows;
  }

  /** Unsynced rows of a shard in primary-key order, after a keyset cursor. */
  async listUnsynced(
    shard: number,
    limit: number,
    after?: { tableName: string; primaryKey: string },
  ): Promise<UnsyncedRow[]> {
    const params: Array<string | number> = [shard];
    let cursor = '';
    if (after) {
      cursor = 'AND (table_name, primary_key) > (?, ?)';
      params.push(after.tableName, after.primaryKey);
    }
    params.push(limit);
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT shard, table_name, primary_key, version, operation, data, source_ts, updated_time
       FROM buffer_backup WHERE shard = ? AND sync_state = 0 ${cursor}
       ORDER BY table_name, primary_key LIMIT ?`,
      params,
    );
    return rows.map((r) => ({
      shard: Number(r.shard),
      tableName: String(r.table_name),
      primaryKey: String(r.primary_key),
      version: Number(r.version),
      op: asOpCode(String(r.operation)),
      data: r.data === null ? null : String(r.data),
      sourceTs: Number(r.source_ts),
      updatedTime: new Date(r.updated_time).getTime(),
    }));
  }

  async countUnsynced(): Promise<number> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT COUNT(*) AS n FROM buffer_backup WHERE sync_state = 0',
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Deletes synced and dead-lettered rows older than the retention, a bounded number per call. */
  async purgeSettled(retentionMs: number, limit = 5000): Promise<number> {
    const [result] = await this.pool.query<ResultSetHeader>(
      `DELETE FROM buffer_backup WHERE sync_state IN (1, 2)
       AND updated_time < CURRENT_TIMESTAMP(3) - INTERVAL ? MICROSECOND LIMIT ?`,
      [retentionMs * 1000, limit],
    );
    return result.affectedRows;
  }
}

/** InnoDB's deadlock and lock-wait timeout: the transaction was rolled back and may be run again. */
export function isDeadlock(error: unknown): boolean {
  const code = (error as { errno?: number } | null)?.errno;
  return code === 1213 || code === 1205;
}
