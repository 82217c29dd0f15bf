import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressSql, settleBackupSql, upsertBackupSql } from './backup-sql.ts';

test('the upsert raises the version last, so every column compares against the old one', () => {
  const { sql, params } = upsertBackupSql([
    { shard: 3, tableName: 'shop.a', primaryKey: '1', version: 10, op: 'u', data: '{}', sourceTs: 5 },
    { shard: 3, tableName: 'shop.a', primaryKey: '2', version: 11, op: 'd', data: null, sourceTs: 6 },
  ]);
  assert.equal(params.length, 14);
  assert.equal((sql.match(/\(\?, \?, \?, \?, \?, \?, \?, 0\)/g) ?? []).length, 2);
  const update = sql.slice(sql.indexOf('ON DUPLICATE KEY UPDATE'));
  const assignments = update
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(' = ')[0]);
  assert.deepEqual(assignments, ['operation', 'data', 'source_ts', 'sync_state', 'synced_time', 'version']);
});

test('settling only touches pending rows that still hold the flushed version', () => {
  const { sql, params } = settleBackupSql(4, [{ tableName: 't', primaryKey: 'k', version: 9 }], 1);
  assert.match(sql, /sync_state = 0 AND \(table_name, primary_key, version\) IN \(\(\?, \?, \?\)\)/);
  assert.deepEqual(params, [1, 4, 't', 'k', 9]);
});

test('progress never goes backwards', () => {
  const { sql } = progressSql([{ topic: 't', partition: 0, generation: 0, offset: 5 }]);
  assert.match(sql, /GREATEST\(applied_offset, VALUES\(applied_offset\)\)/);
});
