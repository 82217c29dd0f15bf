// Recovery from the backup table against real Redis and MySQL, in process and through `sluice recover`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BackupRepository, migrate, openPool, type Pool } from '@sluice/backup';
import { encodeValue, RedisBuffer, recordField } from '@sluice/buffer';
import { Recovery } from '@sluice/pipeline';
import { createLogger } from '@sluice/runtime';
import { Redis } from 'ioredis';
import { runSluice } from '../support/cli.ts';
import { createTestDatabase } from '../support/mysql.ts';
import { stack } from '../support/stack.ts';
import { uniqueName } from '../support/wait.ts';

let redis: Redis;
let pool: Pool;
let metaUrl: string;
let drop: () => Promise<void>;
let buffer: RedisBuffer;
let backup: BackupRepository;
const prefix = uniqueName('rec');
const table = 'shop.items';
const row = (shard: number, pk: string, version: number) => ({
  shard,
  tableName: table,
  primaryKey: pk,
  version,
  op: 'u' as const,
  data: `{"v":${version}}`,
  sourceTs: 1,
});

before(async () => {
  redis = new Redis(stack().redisUrl);
  const db = await createTestDatabase();
  metaUrl = db.url;
  drop = db.drop;
  pool = await openPool(db.url);
  await migrate(pool);
  buffer = new RedisBuffer(redis, { prefix, cluster: 'c', shards: 16 });
  backup = new BackupRepository(pool);
});

after(async () => {
  await buffer.clear();
  await redis.quit();
  await pool.end();
  await drop();
});

test('recovery re-buffers unsynced rows and never replaces a newer buffered version', async () => {
  await backup.commitBatch([row(2, 'a', 5), row(2, 'b', 3), row(2, 'c', 9)], []);
  await backup.settle(2, [{ tableName: table, primaryKey: 'c', version: 9 }], 'synced');
  await buffer.upsert([
    { shard: 2, field: recordField(table, 'a'), version: 7, value: encodeValue(7, 1, 'upsert', '{"v":7}') },
  ]);

  const result = await new Recovery(buffer, backup, createLogger('test', 'silent'), 2).recoverShard(2);
  assert.deepEqual(result, { scanned: 2, rebuffered: 1 });
  const due = await buffer.takeDue(2, 10);
  assert.deepEqual(due.map((r) => [r.pk, r.version, r.json]).sort(), [
    ['a', 7, '{"v":7}'],
    ['b', 3, '{"v":3}'],
  ]);
});

test('`sluice recover` re-buffers what Redis lost (e.g. after a restart without persistence)', async () => {
  await backup.commitBatch([row(4, 'x', 11), row(9, 'y', 12)], []);
  const env = {
    SLUICE_META_MYSQL_URL: metaUrl,
    SLUICE_REDIS_PREFIX: prefix,
    SLUICE_CLUSTER: 'c',
    SLUICE_REDIS_URL: stack().redisUrl,
    SLUICE_KAFKA_BROKERS: stack().kafkaBrokers.join(','),
    SLUICE_ES_URL: stack().esUrl,
  };
  const first = await runSluice(['recover', '--json'], env);
  assert.equal(first.code, 0, first.stderr);
  const counts = JSON.parse(first.stdout) as { scanned: number; rebuffered: number };
  assert.ok(counts.rebuffered >= 2, first.stdout);
  const shards = await buffer.stats([4, 9]);
  assert.deepEqual(
    shards.map((s) => s.pending),
    [1, 1],
  );
  const again = await runSluice(['recover', '--json', '--shard', '4'], env);
  assert.deepEqual(JSON.parse(again.stdout), { scanned: 1, rebuffered: 0 }, 'nothing to do the second time');
});
