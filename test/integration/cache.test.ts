// shared/cache against the stack's Redis: hits and misses per level, "no row" cached, each level's
// TTL; single flight (100 concurrent gets → 1 load); an invalidation reaching every process's L1;
// the load/invalidate race (a load that read the row before a change must not cache it after the
// change's invalidation: this test fails without the guard); a broken subscription drops the L1.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { CacheInvalidator, InvalidationListener, RowCache, type RowRef } from '@sluice/cache';
import type { Redis } from 'ioredis';
import { deleteKeys, openRedis } from '../support/redis.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

const layout = { prefix: uniqueName('cachetest').toLowerCase() };
const clients: Redis[] = [];
const client = () => {
  const c = openRedis();
  c.on('error', () => undefined);
  clients.push(c);
  return c;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const row = (pk: string): RowRef => ({ table: 'shop.items', pk });

after(async () => {
  const redis = openRedis();
  await deleteKeys(redis, layout.prefix);
  redis.disconnect();
  for (const c of clients) c.disconnect();
});

/** A "database" of rows the loaders read, counting its reads. */
function database(initial: Record<string, string>) {
  const rows = new Map(Object.entries(initial));
  return {
    rows,
    reads: 0,
    async load(ref: RowRef): Promise<{ name: string } | null> {
      this.reads++;
      const name = rows.get(ref.pk);
      return name === undefined ? null : { name };
    },
  };
}

function levels() {
  const seen: string[] = [];
  return {
    seen,
    events: {
      hit: (level: 'l1' | 'l2', negative: boolean) => seen.push(`${level}${negative ? '-none' : ''}`),
      miss: () => seen.push('miss'),
    },
  };
}

test('hit, miss and negative per level, and each level expiring after its TTL', async () => {
  const db = database({ '1': 'one' });
  const a = levels();
  const b = levels();
  const options = { redis: client(), layout, l1TtlMs: 300, l2TtlMs: 900, negativeTtlMs: 900 };
  const first = new RowCache({ ...options, loader: (r) => db.load(r), events: a.events });
  const second = new RowCache({ ...options, redis: client(), loader: (r) => db.load(r), events: b.events });
  assert.deepEqual(await first.get(row('1')), { name: 'one' });
  assert.deepEqual(await first.get(row('1')), { name: 'one' });
  assert.deepEqual(await second.get(row('1')), { name: 'one' }, 'another process finds it in L2');
  assert.equal(await first.get(row('404')), null);
  assert.equal(await first.get(row('404')), null);
  assert.equal(await second.get(row('404')), null);
  assert.deepEqual(a.seen, ['miss', 'l1', 'miss', 'l1-none']);
  assert.deepEqual(b.seen, ['l2', 'l2-none']);
  assert.equal(db.reads, 2);
  await sleep(400); // L1 expired, L2 not
  await first.get(row('1'));
  assert.equal(a.seen.at(-1), 'l2');
  await sleep(1000); // both expired
  await first.get(row('1'));
  assert.equal(a.seen.at(-1), 'miss');
  assert.equal(db.reads, 3);
});

test('single flight: 100 concurrent gets of one key make one load', async () => {
  const db = database({ '7': 'seven' });
  const cache = new RowCache({
    redis: client(),
    layout,
    loader: async (r) => {
      await sleep(50);
      return db.load(r);
    },
  });
  const values = await Promise.all(Array.from({ length: 100 }, () => cache.get(row('7'))));
  assert.equal(db.reads, 1);
  assert.ok(values.every((v) => v?.name === 'seven'));
});

test('an invalidation reaches the L1 of every process, and the next get reads the new row', async () => {
  const db = database({ '3': 'old' });
  const caches = [0, 1].map(() => new RowCache({ redis: client(), layout, loader: (r) => db.load(r) }));
  const listeners = caches.map((cache) => {
    const listener = new InvalidationListener(client(), layout);
    listener.register(cache);
    return listener;
  });
  await Promise.all(listeners.map((l) => l.start()));
  for (const cache of caches) assert.deepEqual(await cache.get(row('3')), { name: 'old' });
  assert.ok(caches.every((c) => c.localSize() === 1));
  db.rows.set('3', 'new');
  await new CacheInvalidator(client(), layout).invalidate([row('3')]);
  await waitFor(
    'both L1 to drop the row',
    () => (caches.every((c) => c.localSize() === 0) ? true : undefined),
    {
      timeoutMs: 2000,
      intervalMs: 5,
    },
  );
  for (const cache of caches) assert.deepEqual(await cache.get(row('3')), { name: 'new' });
  await Promise.all(listeners.map((l) => l.stop()));
});

test('a load that read the row before a change does not cache it after the invalidation', async () => {
  const db = database({ '5': 'old' });
  let readDone: () => void = () => undefined;
  let resume: () => void = () => undefined;
  const read = new Promise<void>((resolve) => (readDone = resolve));
  const resumed = new Promise<void>((resolve) => (resume = resolve));
  const racing = new RowCache({
    redis: client(),
    layout,
    loader: async (r) => {
      const value = await db.load(r); // reads "old"
      readDone();
      await resumed; // … and is slow to store it
      return value;
    },
  });
  const loading = racing.get(row('5'));
  await read;
  db.rows.set('5', 'new'); // the change commits, and Sluice invalidates it
  await new CacheInvalidator(client(), layout).invalidate([row('5')]);
  resume();
  assert.deepEqual(await loading, { name: 'old' }, 'the caller gets what it read');
  // any process now: not the old row
  const fresh = new RowCache({ redis: client(), layout, loader: (r) => db.load(r) });
  assert.deepEqual(await fresh.get(row('5')), { name: 'new' }, 'the old row was not cached in L2');
  assert.deepEqual(await racing.get(row('5')), { name: 'new' }, 'nor in the racing process’s L1');
});

test('a table invalidated as a whole (DDL, TRUNCATE): no entry of it from before is served, racing loads store nothing', async () => {
  const db = database({ '21': 'one', '22': 'two' });
  const other = { table: 'shop.orders', pk: '21' };
  const cache = new RowCache({ redis: client(), layout, loader: (r) => db.load(r) });
  const listener = new InvalidationListener(client(), layout);
  listener.register(cache);
  await listener.start();
  await cache.get(row('21'));
  await cache.get(other);
  let readDone: () => void = () => undefined;
  let resume: () => void = () => undefined;
  const read = new Promise<void>((resolve) => (readDone = resolve));
  const resumed = new Promise<void>((resolve) => (resume = resolve));
  const guards: string[] = [];
  const racing = new RowCache({
    redis: client(),
    layout,
    loader: async (r, seen) => {
      guards.push(seen.tableGuard);
      const value = await db.load(r);
      readDone();
      await resumed;
      return value;
    },
  });
  const loading = racing.get(row('22'));
  await read;
  db.rows.set('21', 'ONE');
  db.rows.set('22', 'TWO'); // e.g. ALTER TABLE … changed every row, without row events
  await new CacheInvalidator(client(), layout).invalidateTables(['shop.items']);
  resume();
  assert.deepEqual(await loading, { name: 'two' });
  await waitFor('the L1 to drop the table', () => (cache.localSize() === 1 ? true : undefined), {
    timeoutMs: 2000,
    intervalMs: 5,
  });
  const fresh = new RowCache({ redis: client(), layout, loader: (r) => db.load(r) });
  assert.deepEqual(
    await fresh.get(row('21')),
    { name: 'ONE' },
    'the L2 entry from before the DDL is not served',
  );
  assert.deepEqual(await fresh.get(row('22')), { name: 'TWO' }, 'the racing load stored nothing');
  assert.deepEqual(await cache.get(row('21')), { name: 'ONE' });
  assert.equal(db.reads, 5, 'the other table kept its entries');
  await racing.get(row('23'));
  assert.equal(guards.length, 2);
  assert.notEqual(guards[1], guards[0], "a loader learns that the table's guard changed");
  await listener.stop();
});

test('a broken subscription drops the whole L1 (invalidations may have been missed)', async () => {
  const db = database({ '9': 'nine' });
  const cache = new RowCache({ redis: client(), layout, loader: (r) => db.load(r) });
  const subscriber = client();
  const id = await subscriber.call('CLIENT', 'ID'); // (a subscribed connection may not ask)
  const listener = new InvalidationListener(subscriber, layout);
  listener.register(cache);
  await listener.start();
  await cache.get(row('9'));
  assert.equal(cache.localSize(), 1);
  await client().call('CLIENT', 'KILL', 'ID', String(id));
  await waitFor(
    'the L1 to be dropped after the reconnect',
    () => (cache.localSize() === 0 ? true : undefined),
    {
      timeoutMs: 10_000,
    },
  );
  await listener.stop();
});
