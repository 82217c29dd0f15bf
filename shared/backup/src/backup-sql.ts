// SQL builders for the backup table (pure, unit-tested).

export interface BackupRow {
  shard: number;
  tableName: string;
  primaryKey: string;
  version: number;
  op: 'u' | 'd';
  /** Document JSON, null for deletes. */
  data: string | null;
  sourceTs: number;
}

export interface Statement {
  sql: string;
  params: Array<string | number | null>;
}

export const SYNC_STATE = { pending: 0, synced: 1, dead: 2 } as const;

/**
 * Multi-row upsert that keeps the newest version per (table, pk). MySQL applies the assignments of
 * ON DUPLICATE KEY UPDATE left to right, so every column is chosen against the old version before
 * `version` itself is raised last. A newer version makes the row pending again.
 */
export function upsertBackupSql(rows: readonly BackupRow[]): Statement {
  const params: Array<string | number | null> = [];
  const values: string[] = [];
  for (const row of rows) {
    values.push('(?, ?, ?, ?, ?, ?, ?, 0)');
    params.push(row.shard, row.tableName, row.primaryKey, row.version, row.op, row.data, row.sourceTs);
  }
  const newer = 'VALUES(version) > version';
  const sql = `INSERT INTO buffer_backup
  (shard, table_name, primary_key, version, operation, data, source_ts, sync_state)
VALUES ${values.join(', ')}
ON DUPLICATE KEY UPDATE
  operation = IF(${newer}, VALUES(operation), operation),
  data = IF(${newer}, VALUES(data), data),
  source_ts = IF(${newer}, VALUES(source_ts), source_ts),
  sync_state = IF(${newer}, 0, sync_state),
  synced_time = IF(${newer}, NULL, synced_time),
  version = GREATEST(version, VALUES(version))`;
  return { sql, params };
}

export interface SettledRow {
  tableName: string;
  primaryKey: string;
  version: number;
}

/** Marks rows synced or dead, only where the backup still holds the version that was flushed. */
export function settleBackupSql(shard: number, rows: readonly SettledRow[], state: 1 | 2): Statement {
  const params: Array<string | number | null> = [state, shard];
  const tuples: string[] = [];
  for (const row of rows) {
    tuples.push('(?, ?, ?)');
    params.push(row.tableName, row.primaryKey, row.version);
  }
  const sql = `UPDATE buffer_backup SET sync_state = ?, synced_time = CURRENT_TIMESTAMP(3)
WHERE shard = ? AND sync_state = 0 AND (table_name, primary_key, version) IN (${tuples.join(', ')})`;
  return { sql, params };
}

/** Raises the applied offset of partitions (never lowers it). */
export function progressSql(
  entries: ReadonlyArray<{ topic: string; partition: number; generation: number; offset: number }>,
): Statement {
  const params: Array<string | number | null> = [];
  const values: string[] = [];
  for (const e of entries) {
    values.push('(?, ?, ?, ?)');
    params.push(e.topic, e.partition, e.generation, e.offset);
  }
  const sql = `INSERT INTO source_progress (topic, kafka_partition, generation, applied_offset)
VALUES ${values.join(', ')}
ON DUPLICATE KEY UPDATE applied_offset = GREATEST(applied_offset, VALUES(applied_offset))`;
  return { sql, params };
}
