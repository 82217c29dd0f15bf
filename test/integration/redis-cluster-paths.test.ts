// Every Redis path of Sluice on the stack's Redis Cluster (3 masters, 3 replicas), through the same
// code that runs on one Redis: the connection (seed list, checks asked of every master), the
// layout (a shard's buffer and lock in one slot, the shards, their queues, the cache's tables and
// the streams spread over the masters), the buffer's scripts, Redlock, the BullMQ schedulers, the
// row cache with its invalidations, and the stream transport (claim-fenced writes, per-stream reads).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  checkNoEviction,
  encodeValue,
  mastersOf,
  openRedis,
  RedisBuffer,
  type RedisLike,
  recordField,
  redisRunId,
  shardKeys,
  shardLockKey,
} from '@sluice/buffer';
import { CacheInvalidator, InvalidationListener, RowCache, type RowRef } from '@sluice/cache';
import { LockService } from '@sluice/lock';
import { memoryLogger } from '@sluice/runtime';
import {
  RedisStreamSource,
  type SourceBatch,
  type StreamEntry,
  type StreamLayout,
  StreamWriter,
  streamKey,
  streamLeaseKey,
} from '@sluice/source';
import { FlushScheduler, queueName } from '@sluice/worker';
import type { Cluster } from 'ioredis';
import { stack, stackScript } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const prefix = uniqueName('paths').toLowerCase();
const clients: RedisLike[] = [];
let url: string;

async function open(name: string, extra: { maxRetriesPerRequest?: null } = {}): Promise<Cluster> {
  const client = await openRedis(url, { cluster: true, connectionName: name, ...extra });
  clients.push(client);
  return client as Cluster;
}

before(async () => {
  await run('bash', [stackScript, 'up', 'redis-cluster'], { timeout: 120_000 });
  url = stack()
    .redisClusterNodes.map((address) => `redis://${address}`)
    .join(',');
});

after(async () => {
  const cleaner = await open('cleanup');
  for (const node of mastersOf(cleaner)) {
    for (const pattern of [`{${prefix}*`, `${prefix}*`]) {
      for await (const keys of node.scanStream({ match: pattern, count: 1000 })) {
        for (const key of keys as string[]) await cleaner.del(key);
      }
    }
  }
  for (const client of clients) client.disconnect();
});

/** The master (host:port) serving a key's slot. */
async function masterOf(client: Cluster, key: string): Promise<string> {
  const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
  const shards = (await client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
  const range = shards.find(([from, to]) => slot >= from && slot <= to);
  assert.ok(range, `slot ${slot} is served`);
  return `${range[2][0]}:${range[2][1]}`;
}

test('a seed list opens the cluster; eviction policy and run_id are asked of every master', async () => {
  const client = await open('connect');
  assert.equal(mastersOf(client).length, 3);
  assert.equal(
    await checkNoEviction(client, url, false, () => assert.fail('no warning expected')),
    'noeviction',
  );
  const runId = await redisRunId(client);
  assert.equal(runId.split(',').length, 3, runId);
  await assert.rejects(openRedis(url), /several URLs are the seed nodes of a Redis Cluster/);
});

test("a shard's buffer and lock share a slot; shards, queues, cache tables and streams spread over the masters", async () => {
  const client = await open('layout');
  const slotOf = async (key: string) => Number(await client.call('CLUSTER', 'KEYSLOT', key));
  const bufferMasters = new Set<string>();
  const queueMasters = new Set<string>();
  for (let shard = 0; shard < 16; shard++) {
    const keys = shardKeys(prefix, 'c', shard);
    const slots = new Set(
      await Promise.all(
        [keys.rec, keys.pending, keys.delay, keys.attempts, shardLockKey(prefix, 'c', shard)].map(slotOf),
      ),
    );
    assert.equal(slots.size, 1, `shard ${shard}: one slot`);
    bufferMasters.add(await masterOf(client, keys.rec));
    queueMasters.add(await masterOf(client, `${prefix}:c:bull:${queueName('c', shard)}:meta`));
  }
  assert.equal(bufferMasters.size, 3, 'the shards spread over the 3 masters');
  assert.equal(queueMasters.size, 3, "the shards' flush queues spread over the 3 masters");
  const streams = new Set<string>();
  const layout: StreamLayout = { prefix, cluster: 'c', partitions: 8 };
  for (let n = 0; n < 8; n++) {
    assert.equal(await slotOf(streamKey(layout, n)), await slotOf(streamLeaseKey(layout, n)));
    streams.add(await masterOf(client, streamKey(layout, n)));
  }
  assert.ok(streams.size >= 2, `8 streams on ${streams.size} masters`);
});

const entry = (shard: number, pk: string, version: number) => ({
  shard,
  field: recordField('shop.items', pk),
  version,
  value: encodeValue(version, 1000 + version, 'upsert', `{"v":${version}}`),
});

test("the buffer's scripts on every shard: newer wins, take, compare-and-delete", async () => {
  const buffer = new RedisBuffer(await open('buffer'), { prefix, cluster: 'buf', shards: 16 });
  const writes = Array.from({ length: 16 }, (_, shard) => [
    entry(shard, `r${shard}`, 5),
    entry(shard, `r${shard}`, 3),
  ]);
  const upserted = await buffer.upsert(writes.flat(), 100);
  assert.deepEqual(upserted, { inserted: 16, replaced: 0, refused: 16 });
  assert.equal(await buffer.totalPending(), 16);
  for (let shard = 0; shard < 16; shard++) {
    const due = await buffer.takeDue(shard, 10, 1000);
    assert.deepEqual(
      due.map((r) => [r.pk, r.version]),
      [[`r${shard}`, 5]],
    );
    await buffer.upsert([entry(shard, `r${shard}`, 6)], 1100);
    const acked = await buffer.ack(shard, due);
    assert.deepEqual(acked, { deleted: 0, kept: 1 }, 'the newer version that came meanwhile is kept');
  }
  assert.equal(await buffer.totalPending(), 16);
  await buffer.clear();
  assert.equal(await buffer.totalPending(), 0);
});

test('Redlock on the cluster: one holder per key at a time, fencing tokens grow', async () => {
  const locks = new LockService(await open('locks'));
  const key = shardLockKey(prefix, 'lock', 3);
  const tokens: number[] = [];
  const inside = await locks.withLock(
    key,
    async (lease) => {
      tokens.push(lease.token);
      const other = await locks.tryWithLock(key, async () => 'no', 5000);
      return other.acquired;
    },
    { leaseMs: 5000 },
  );
  assert.equal(inside, false, 'a second holder is refused while the first holds it');
  await locks.withLock(key, async (lease) => tokens.push(lease.token), { leaseMs: 5000 });
  assert.ok((tokens[1] as number) > (tokens[0] as number), `tokens ${tokens}`);
});

test("BullMQ on the cluster: each shard's Job Scheduler runs its flush jobs", async () => {
  const connection = await open('queues', { maxRetriesPerRequest: null });
  const scheduler = new FlushScheduler(connection, {
    prefix: `${prefix}:q:bull`,
    cluster: 'q',
    windowMs: 200,
    drainTimeoutMs: 2000,
    logger: memoryLogger().logger,
  });
  const shards = [0, 5, 10, 15];
  await scheduler.ensureSchedulers(shards);
  const ran = new Map<number, number>();
  for (const shard of shards)
    scheduler.own(shard, async () => void ran.set(shard, (ran.get(shard) ?? 0) + 1));
  try {
    await waitFor(
      'every shard to flush twice',
      () => (shards.every((s) => (ran.get(s) ?? 0) >= 2) ? true : undefined),
      {
        timeoutMs: 20_000,
      },
    );
  } finally {
    for (const shard of shards) await scheduler.release(shard);
  }
});

test('the row cache on the cluster: rows of tables in other slots are loaded, shared and invalidated', async () => {
  const layout = { prefix: `${prefix}:cache` };
  const rows = new Map<string, string>([
    ['a.t1|1', 'one'],
    ['b.t2|2', 'two'],
    ['c.t3|3', 'three'],
  ]);
  let reads = 0;
  const loader = async (ref: RowRef) => {
    reads++;
    const name = rows.get(`${ref.table}|${ref.pk}`);
    return name === undefined ? null : { name };
  };
  const listener = new InvalidationListener(await open('cache-sub'), layout);
  await listener.start();
  const first = new RowCache({ redis: await open('cache-a'), layout, loader });
  const second = new RowCache({ redis: await open('cache-b'), layout, loader });
  listener.register(first);
  listener.register(second);
  const refs: RowRef[] = [
    { table: 'a.t1', pk: '1' },
    { table: 'b.t2', pk: '2' },
    { table: 'c.t3', pk: '3' },
  ];
  for (const ref of refs)
    assert.deepEqual(await first.get(ref), { name: rows.get(`${ref.table}|${ref.pk}`) });
  for (const ref of refs) await second.get(ref);
  assert.equal(reads, 3, "the second process is served from L2 (each table's slot)");

  rows.set('a.t1|1', 'uno');
  rows.set('c.t3|3', 'tres');
  const invalidator = new CacheInvalidator(await open('cache-writer'), layout);
  await invalidator.invalidate([refs[0] as RowRef, refs[2] as RowRef]);
  await waitFor('the L1 to drop the invalidated rows', async () =>
    (await first.get(refs[0] as RowRef))?.name === 'uno' ? true : undefined,
  );
  assert.deepEqual(await first.get(refs[2] as RowRef), { name: 'tres' });
  assert.deepEqual(
    await second.get(refs[1] as RowRef),
    { name: 'two' },
    'the untouched table is still served',
  );

  rows.set('b.t2|2', 'dos');
  await invalidator.invalidateTables(['b.t2']);
  await waitFor('the table invalidation to reach the L1', async () =>
    (await second.get(refs[1] as RowRef))?.name === 'dos' ? true : undefined,
  );
  // a process that heard nothing (a fresh L1) is turned away from the old L2 entry by the table guard
  const third = new RowCache({ redis: await open('cache-c'), layout, loader });
  const before = reads;
  assert.deepEqual(await third.get(refs[1] as RowRef), { name: 'dos' });
  assert.equal(reads, before, 'the reload by the second process is what L2 holds now');
  await listener.stop();
});

test('the streams on the cluster: claim-fenced appends, every stream read in order and acknowledged', async () => {
  const layout: StreamLayout = { prefix: `${prefix}:s`, cluster: 'c', partitions: 4 };
  const writer = new StreamWriter(await open('relay'), layout);
  const at = (offset: number): StreamEntry => ({
    position: { file: 'bin.000001', offset },
    message: JSON.stringify({ offset }),
  });
  await writer.claim('d', 'relay-a');
  for (let n = 0; n < 4; n++) {
    const result = await writer.append(n, 'd', [at(1), at(2), at(3)], 1, { holder: 'relay-a' });
    assert.equal(result.written, 3);
  }
  await writer.claim('d', 'relay-b');
  await assert.rejects(writer.append(0, 'd', [at(4)], 1, { holder: 'relay-a' }), /NOTHOLDER/);

  const source = new RedisStreamSource({
    redis: await open('ingest-streams'),
    blocking: await open('ingest-streams-read'),
    layout,
    group: 'ingest',
    fromBeginning: true,
    maxBatchMessages: 50,
    leaseMs: 1500,
    blockMs: 200,
    logger: memoryLogger().logger,
  });
  const seen = new Map<number, number[]>();
  await source.connect();
  const running = source.run(async (batch: SourceBatch) => {
    const list = seen.get(batch.partition) ?? [];
    for (const m of batch.messages) list.push(Number(m.offset));
    seen.set(batch.partition, list);
  });
  try {
    await waitFor(
      'every stream read',
      () => ([0, 1, 2, 3].every((n) => seen.get(n)?.length === 3) ? true : undefined),
      {
        timeoutMs: 15_000,
      },
    );
    for (let n = 0; n < 4; n++) assert.deepEqual(seen.get(n), [1, 2, 3], `stream ${n} in order`);
    await writer.append(2, 'd', [at(4)], 1, { holder: 'relay-b' });
    await waitFor('a new entry read', () => (seen.get(2)?.length === 4 ? true : undefined), {
      timeoutMs: 10_000,
    });
    await waitFor('lag 0 everywhere', async () =>
      (await source.lag()).every((l) => l.lag === 0) ? true : undefined,
    );
  } finally {
    await source.stop();
    await running;
  }
});
