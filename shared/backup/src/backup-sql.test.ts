// How the statements bind their values. What they do (the newest version wins, settling only the
// flushed version, offsets that never go backwards) is tested against the stack's MariaDB in
// test/integration/backup.test.ts: matching SQL text here could not tell whether it behaves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { progressSql, settleBackupSql, upsertBackupSql } from './backup-sql.ts';

const placeholders = (sql: string) => (sql.match(/\?/g) ?? []).length;

test('the upsert binds each row in column order, one group of placeholders per row', () => {
  const { sql, params } = upsertBackupSql([
    { shard: 3, tableName: 'shop.a', primaryKey: '1', version: 10, op: 'u', data: '{}', sourceTs: 5 },
    { shard: 3, tableName: 'shop.a', primaryKey: '2', version: 11, op: 'd', data: null, sourceTs: 6 },
  ]);
  assert.deepEqual(params, [3, 'shop.a', '1', 10, 'u', '{}', 5, 3, 'shop.a', '2', 11, 'd', null, 6]);
  assert.equal(placeholders(sql), params.length);
  assert.match(sql, /\(shard, table_name, primary_key, version, operation, data, source_ts, sync_state\)/);
});

test('settling binds the state and the shard, then one (table, key, version) per row', () => {
  const { sql, params } = settleBackupSql(
    4,
    [
      { tableName: 't', primaryKey: 'k', version: 9 },
      { tableName: 't', primaryKey: 'l', version: 3 },
    ],
    1,
  );
  assert.deepEqual(params, [1, 4, 't', 'k', 9, 't', 'l', 3]);
  assert.equal(placeholders(sql), params.length);
});

test('progress binds (topic, partition, generation, offset) per partition', () => {
  const { sql, params } = progressSql([
    { topic: 't', partition: 0, generation: 2, offset: 5 },
    { topic: 't', partition: 3, generation: 2, offset: 7 },
  ]);
  assert.deepEqual(params, ['t', 0, 2, 5, 't', 3, 2, 7]);
  assert.equal(placeholders(sql), params.length);
});
