// The buffer's Lua scripts against the real Redis of the local stack.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeValue, RedisBuffer, recordField } from '@sluice/buffer';
import { Redis } from 'ioredis';
import { stack } from '../support/stack.ts';
import { uniqueName } from '../support/wait.ts';

let redis: Redis;
let buffer: RedisBuffer;

before(() => {
  redis = new Redis(stack().redisUrl);
  buffer = new RedisBuffer(redis, {
    prefix: uniqueName('buf'),
    cluster: 'test',
    shards: 4,
    retryBaseMs: 1000,
  });
});

after(async () => {
  await buffer.clear();
  await redis.quit();
});

const field = (pk: string) => recordField('shop.items', pk);
const entry = (shard: number, pk: string, version: number, json = `{"v":${version}}`) => ({
  shard,
  field: field(pk),
  version,
  value: encodeValue(version, 1000 + version, json === '' ? 'delete' : 'upsert', json),
});

test('newer version wins regardless of arrival order; older and duplicate versions are refused', async () => {
  assert.deepEqual(await buffer.upsert([entry(0, 'a', 5)], 100), { inserted: 1, replaced: 0, refused: 0 });
  assert.deepEqual(await buffer.upsert([entry(0, 'a', 3)], 200), { inserted: 0, replaced: 0, refused: 1 });
  assert.deepEqual(await buffer.upsert([entry(0, 'a', 5)], 300), { inserted: 0, replaced: 0, refused: 1 });
  assert.deepEqual(await buffer.upsert([entry(0, 'a', 9), entry(0, 'a', 7)], 400), {
    inserted: 0,
    replaced: 1,
    refused: 1,
  });

  const [record] = await buffer.takeDue(0, 10, 1000);
  assert.equal(record?.version, 9);
  assert.equal(record?.json, '{"v":9}');
  assert.equal(record?.bufferedAt, 100, 'the pending index keeps the time the row was first buffered');
  const [stats] = await buffer.stats([0]);
  assert.deepEqual(stats, { shard: 0, pending: 1, delayed: 0, oldestBufferedAt: 100 });
});

test('insert then delete in one window ends deleted; delete then insert ends present', async () => {
  await buffer.upsert([entry(1, 'x', 10), entry(1, 'x', 11, '')]);
  await buffer.upsert([entry(1, 'y', 20, ''), entry(1, 'y', 21, '{"back":true}')]);
  const due = await buffer.takeDue(1, 10);
  const byPk = Object.fromEntries(due.map((r) => [r.pk, r]));
  assert.equal(byPk.x?.op, 'delete');
  assert.equal(byPk.y?.op, 'upsert');
  assert.equal(byPk.y?.json, '{"back":true}');
});

test('takeDue returns the oldest first and at most the limit', async () => {
  await buffer.upsert([entry(2, 'late', 1)], 5000);
  await buffer.upsert([entry(2, 'early', 1)], 1000);
  await buffer.upsert([entry(2, 'middle', 1)], 3000);
  const due = await buffer.takeDue(2, 2, 10_000);
  assert.deepEqual(
    due.map((r) => r.pk),
    ['early', 'middle'],
  );
});

test('compare-and-delete keeps a newer update that arrived during the flush', async () => {
  await buffer.upsert([entry(3, 'hot', 100), entry(3, 'cold', 50)]);
  const inFlight = await buffer.takeDue(3, 10);
  assert.equal(inFlight.length, 2);
  // While the bulk request is out, a newer change of "hot" arrives.
  await buffer.upsert([entry(3, 'hot', 101)]);
  const result = await buffer.ack(
    3,
    inFlight.map((r) => ({ field: r.field, version: r.version })),
  );
  assert.deepEqual(result, { deleted: 1, kept: 1 });
  const left = await buffer.takeDue(3, 10);
  assert.deepEqual(
    left.map((r) => [r.pk, r.version]),
    [['hot', 101]],
  );
  assert.deepEqual(await buffer.ack(3, [{ field: field('hot'), version: 101 }]), { deleted: 1, kept: 0 });
  assert.equal((await buffer.stats([3]))[0]?.pending, 0);
});

test('a racing ack from an older flush never deletes the newer record (concurrent scripts)', async () => {
  const shard = 3;
  const rounds = 200;
  for (let v = 1; v <= rounds; v++) {
    // An ack for version v-1 and an upsert of version v race; whatever the interleaving, v must stay.
    await Promise.all([
      buffer.ack(shard, [{ field: field('race'), version: v - 1 }]),
      buffer.upsert([entry(shard, 'race', v)]),
    ]);
    const [record] = await buffer.takeDue(shard, 1);
    assert.equal(record?.version, v);
  }
});

test('retryable failures back off, count attempts and come back when due', async () => {
  await buffer.upsert([entry(0, 'flaky', 40)], 0);
  const now = 10_000;
  let attempts = await buffer.retryLater(0, [{ field: field('flaky'), version: 40 }], now);
  assert.equal(attempts.get(field('flaky')), 1);
  let due = (await buffer.takeDue(0, 10, now + 500)).map((r) => r.pk);
  assert.ok(!due.includes('flaky'), 'not due during the first 1 s backoff');
  let [stats] = await buffer.stats([0]);
  assert.equal(stats?.delayed, 1);

  due = (await buffer.takeDue(0, 10, now + 1000)).map((r) => r.pk);
  assert.ok(due.includes('flaky'), 'due once the backoff has passed');
  attempts = await buffer.retryLater(0, [{ field: field('flaky'), version: 40 }], now + 1000);
  assert.equal(attempts.get(field('flaky')), 2);
  due = (await buffer.takeDue(0, 10, now + 2500)).map((r) => r.pk);
  assert.ok(!due.includes('flaky'), 'the second backoff is 2 s');

  // A newer version replaces the failed one: the retry list for the old version is ignored.
  await buffer.upsert([entry(0, 'flaky', 41)]);
  assert.equal((await buffer.retryLater(0, [{ field: field('flaky'), version: 40 }], now + 3000)).size, 0);
  assert.deepEqual(await buffer.ack(0, [{ field: field('flaky'), version: 41 }]), { deleted: 1, kept: 0 });
  [stats] = await buffer.stats([0]);
  assert.equal(stats?.delayed, 0);
});

test('keys of unknown shards are refused', () => {
  assert.throws(() => buffer.keysOf(4), RangeError);
});
