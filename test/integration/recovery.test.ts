// Recovery from the backup table against real Redis and MySQL, in process and through `sluice recover`.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BackupRepository } from '@sluice/backup';
import { encodeValue, RedisBuffer, recordField } from '@sluice/buffer';
import { Recovery } from '@sluice/pipeline';
import { createLogger } from '@sluice/runtime';
import { runSluice } from '../support/cli.ts';
import { type Backends, openBackends } from '../support/integration.ts';
import { openMetaDatabase } from '../support/mysql.ts';
import { stackConnectionEnv } from '../support/stack.ts';
import { uniqueName } from '../support/wait.ts';

let backends: Backends;
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
  backends = await openBackends(prefix);
  buffer = new RedisBuffer(backends.redis, { prefix, cluster: 'c', shards: 16 });
  backup = new BackupRepository(backends.meta.pool);
});

after(async () => {
  await backends?.close();
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
  // A metadata database of its own: `recover` scans every shard, and only these rows are unsynced.
  const own = await openMetaDatabase();
  try {
    await new BackupRepository(own.pool).commitBatch([row(4, 'x', 11), row(9, 'y', 12), row(4, 'z', 5)], []);
    // z survived in Redis with a newer version: scanned, not re-buffered.
    await buffer.upsert([
      { shard: 4, field: recordField(table, 'z'), version: 6, value: encodeValue(6, 1, 'upsert', '{"v":6}') },
    ]);
    const env = {
      ...stackConnectionEnv(),
      SLUICE_META_MYSQL_URL: own.url,
      SLUICE_REDIS_PREFIX: prefix,
      SLUICE_CLUSTER: 'c',
    };
    const first = await runSluice(['recover', '--json'], env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { scanned: 3, rebuffered: 2 });
    const shards = await buffer.stats([4, 9]);
    assert.deepEqual(
      shards.map((s) => s.pending),
      [2, 1],
    );
    // Without --json, progress lines (stderr, not a terminal here) end with the scanned total.
    const again = await runSluice(['recover', '--shard', '4', '9'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /^recover \(shard 4\) .* 2 \/ ~3 rows/m);
    assert.match(again.stderr, /^recover .* 3 \/ ~3 rows/m);
    assert.match(
      again.stdout,
      /scanned 3 unsynced backup rows, re-buffered 0/,
      'nothing to do the second time',
    );
  } finally {
    await own.close();
  }
});
