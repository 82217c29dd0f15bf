// The row cache invalidated by the change stream, end to end: MariaDB → Canal → Kafka → ingest with
// SLUICE_CACHE_INVALIDATION → the cache's Redis → every process's L1. Two caches (as two application
// processes, each with its own connections and subscription) read through MySQL; after a row changes
// in MySQL, both return the new row; so after a delete (no row), after an ingest killed with -9
// while the row changed, and after the Redis restarted without persistence.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { InvalidationListener, RowCache, type RowRef } from '@sluice/cache';
import { encodePk } from '@sluice/core';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import type { ServiceProcess } from '../support/services.ts';
import { stack, stackScript } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
let pipeline: Pipeline;
let ingest: ServiceProcess;
let source: mysql.Pool;
const closers: Array<() => Promise<void> | void> = [];
type Item = { id: number; name: string };
let caches: Array<RowCache<Item>> = [];

before(async () => {
  pipeline = await createPipeline({ env: { SLUICE_CACHE_INVALIDATION: 'true' } });
  const db = await pipeline.openSource();
  await db.query('CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)');
  await db.query(`INSERT INTO items VALUES (1, 'v1'), (2, 'two')`);
  await db.end();
  ingest = await pipeline.start('ingest');
  source = mysql.createPool({ uri: pipeline.sourceUrl, connectionLimit: 4 });
  const layout = { prefix: `${pipeline.env.SLUICE_REDIS_PREFIX}:${pipeline.env.SLUICE_CLUSTER}` };
  caches = [];
  for (let i = 0; i < 2; i++) {
    const redis = new Redis(stack().redisUrl);
    const subscriber = new Redis(stack().redisUrl);
    for (const c of [redis, subscriber]) c.on('error', () => undefined);
    const cache = new RowCache<Item>({
      redis,
      layout,
      loader: async (ref: RowRef) => {
        const [rows] = await source.query<mysql.RowDataPacket[]>(`SELECT id, name FROM items WHERE id = ?`, [
          Number(ref.pk),
        ]);
        return (rows[0] as Item | undefined) ?? null;
      },
    });
    const listener = new InvalidationListener(subscriber, layout);
    listener.register(cache);
    await listener.start();
    caches.push(cache);
    closers.push(async () => {
      await listener.stop();
      redis.disconnect();
      subscriber.disconnect();
    });
  }
});

after(async () => {
  for (const close of closers) await close();
  await source?.end();
  await pipeline?.close();
});

const ref = (id: number): RowRef => ({ table: `${pipeline.database}.items`, pk: encodePk([String(id)]) });

async function change(sql: string): Promise<void> {
  await source.query(sql);
}

/** Until every cache returns `want` for the row (both levels warm before the change). */
async function everyCacheSees(id: number, want: string | null, what: string): Promise<void> {
  await waitFor(
    what,
    async () => {
      const values = await Promise.all(caches.map((c) => c.get(ref(id))));
      return values.every((v) => (v?.name ?? null) === want) ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 20 },
  );
}

test('a row changed in MySQL: every process returns the new row; a deleted one, no row', async () => {
  for (const cache of caches) assert.equal((await cache.get(ref(1)))?.name, 'v1');
  for (const cache of caches) assert.equal((await cache.get(ref(1)))?.name, 'v1', 'served from L1');
  assert.ok(caches.every((c) => c.localSize() >= 1));
  await change(`UPDATE items SET name = 'v2' WHERE id = 1`);
  await everyCacheSees(1, 'v2', 'the update to reach every cache');
  for (const cache of caches) assert.equal((await cache.get(ref(2)))?.name, 'two');
  await change('DELETE FROM items WHERE id = 2');
  await everyCacheSees(2, null, 'the delete to reach every cache');
});

test('a change while ingest is killed (-9) reaches the caches once a new ingest consumes it', async () => {
  await ingest.kill9();
  await change(`UPDATE items SET name = 'v3' WHERE id = 1`);
  for (const cache of caches)
    assert.equal((await cache.get(ref(1)))?.name, 'v2', 'still cached: nothing invalidated it yet');
  ingest = await pipeline.start('ingest');
  await everyCacheSees(1, 'v3', 'the change to be invalidated after the restart');
});

test('after a restart of the Redis (no persistence), invalidations work again and nothing stale is served', async () => {
  for (const cache of caches) await cache.get(ref(1));
  await run('bash', [stackScript, 'down', 'redis']);
  await run('bash', [stackScript, 'up', 'redis']);
  await change(`UPDATE items SET name = 'v4' WHERE id = 1`);
  await everyCacheSees(1, 'v4', 'the change after the Redis restart to reach every cache');
  await change(`UPDATE items SET name = 'v5' WHERE id = 1`);
  await everyCacheSees(1, 'v5', 'the next one too');
  assert.equal(ingest.child.exitCode, null);
});
