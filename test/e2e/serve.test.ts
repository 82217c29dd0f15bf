// `sluice serve` on the real pipeline: MariaDB → Canal → Kafka → ingest (SLUICE_CACHE_INVALIDATION)
// → the buffer's Redis → serve's L1. Rows are answered through the cache (loader, then L1; a second
// serve finds them in L2) in the form Sluice indexes them; a change, a delete, an ALTER TABLE and a
// TRUNCATE in MySQL reach what serve answers; the cache's metrics are exported; `sluice check
// --cache` is clean on a cache in step and finds exactly the entries made wrong behind Sluice's back
// (an L2 entry edited in Redis, rows changed and deleted with the binary log off), and stores them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { cacheKey } from '@sluice/cache';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { runSluice } from '../support/cli.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { metricsText, type ServiceProcess, serviceGet, sumSamples } from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let serve: ServiceProcess;
let second: ServiceProcess;
let db: mysql.Connection;
let redis: Redis;

before(async () => {
  pipeline = await createPipeline({ env: { SLUICE_CACHE_INVALIDATION: 'true' } });
  db = await mysql.createConnection({ uri: stack().sourceMysqlUrl });
  await db.query(`CREATE DATABASE \`${pipeline.database}\``);
  await db.query(`USE \`${pipeline.database}\``);
  await db.query(
    'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2), tiny TINYINT(1))',
  );
  await db.query(
    'CREATE TABLE order_lines (order_id INT, sku VARCHAR(20), qty INT, PRIMARY KEY (order_id, sku))',
  );
  await db.query(`INSERT INTO items VALUES (1, 'v1', 12.50, 1), (2, 'two', NULL, 0), (3, 'three', 3.00, 0)`);
  await db.query(`INSERT INTO order_lines VALUES (7, 'SKU:1', 2), (7, 'b', 1)`);
  await pipeline.start('ingest');
  serve = await pipeline.start('serve');
  second = await pipeline.start('serve');
  redis = new Redis(stack().redisUrl);
});

after(async () => {
  redis?.disconnect();
  await db?.end();
  await pipeline?.close();
});

async function get(service: ServiceProcess, path: string) {
  const response = await serviceGet(service, path);
  const body = (await response.json()) as { row?: Record<string, unknown>; error?: string; source?: string };
  return { status: response.status, from: response.headers.get('x-sluice-cache'), body };
}
const rowPath = (table: string, id: string) => `/rows/${pipeline.database}/${table}/${id}`;

/** Until serve answers the row with `want` (a predicate on the answer), within 30 s. */
async function answers(path: string, want: (a: Awaited<ReturnType<typeof get>>) => boolean, what: string) {
  const started = Date.now();
  await waitFor(what, async () => (want(await get(serve, path)) ? true : undefined), {
    timeoutMs: 30_000,
    intervalMs: 25,
  });
  return Date.now() - started;
}

test('rows are answered through the cache, typed as Sluice indexes them: loader, then L1, then L2 elsewhere', async () => {
  const first = await get(serve, rowPath('items', '1'));
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.from, 'loader');
  assert.deepEqual(first.body.row, { id: 1, name: 'v1', price: '12.50', tiny: 1 });
  assert.equal((await get(serve, rowPath('items', '1'))).from, 'l1');
  assert.equal((await get(second, rowPath('items', '1'))).from, 'l2', 'the other process finds it in Redis');
  const line = await get(serve, rowPath('order_lines', '7~SKU%3A1'));
  assert.deepEqual([line.status, line.body.row], [200, { order_id: 7, sku: 'SKU:1', qty: 2 }]);
  const none = await get(serve, rowPath('items', '404'));
  assert.deepEqual([none.status, none.from], [404, 'loader']);
  assert.deepEqual([(await get(serve, rowPath('items', '404'))).from], ['l1'], '"no row" is cached');
  assert.equal((await get(serve, rowPath('items', 'a:b'))).status, 400);
  assert.equal(
    (await get(serve, rowPath('order_lines', '7'))).status,
    400,
    'a key of two columns needs both',
  );
  assert.equal((await get(serve, `/rows/${pipeline.database}/no_such_table/1`)).status, 404);
});

test('a change, a delete, an ALTER TABLE and a TRUNCATE in MySQL reach what serve answers', async () => {
  await get(serve, rowPath('items', '2'));
  await db.query(`UPDATE items SET name = 'v2' WHERE id = 1`);
  const updated = await answers(rowPath('items', '1'), (a) => a.body.row?.name === 'v2', 'the update');
  await db.query('DELETE FROM items WHERE id = 2');
  await answers(rowPath('items', '2'), (a) => a.status === 404, 'the delete');
  await db.query(`ALTER TABLE items ADD COLUMN color VARCHAR(10) NOT NULL DEFAULT 'red'`);
  await answers(
    rowPath('items', '1'),
    (a) => a.body.row?.color === 'red',
    'the new column (a table invalidation)',
  );
  assert.equal((await get(second, rowPath('items', '1'))).body.row?.color, 'red', 'the other process too');
  await get(serve, rowPath('order_lines', '7~b'));
  await db.query('TRUNCATE TABLE order_lines');
  await answers(rowPath('order_lines', '7~b'), (a) => a.status === 404, 'the truncate');
  console.log(`# an update answered by serve ${updated} ms after its commit`);
});

test("serve exports the cache's metrics: hits per level, loads, invalidations and their delay, requests", async () => {
  const text = await metricsText(serve);
  assert.ok(sumSamples(text, 'sluice_cache_hits_total', { level: 'l1' }) > 0);
  assert.ok(sumSamples(text, 'sluice_cache_misses_total') > 0);
  assert.ok(sumSamples(text, 'sluice_cache_loads_total', { outcome: 'stored' }) > 0);
  assert.ok(sumSamples(text, 'sluice_cache_invalidated_keys_total') > 0);
  assert.ok(sumSamples(text, 'sluice_cache_invalidation_delay_seconds_count') > 0);
  assert.ok(sumSamples(text, 'sluice_serve_requests_total', { status: '200' }) > 0);
  assert.ok(sumSamples(text, 'sluice_serve_requests_total', { status: '404' }) > 0);
  assert.ok(
    sumSamples((await metricsText(second)) as string, 'sluice_cache_hits_total', { level: 'l2' }) > 0,
  );
});

interface CacheReport {
  runId: number;
  tables: Array<{
    table: string;
    index: string;
    docs: number;
    stale: number;
    extra: number;
    ids: Record<string, string[]>;
  }>;
}

async function checkCache(...scope: string[]) {
  const result = await runSluice(
    ['check', '--cache', ...scope, '--json', '--recheck-after', '300'],
    pipeline.env,
  );
  return {
    code: result.code,
    report: JSON.parse(result.stdout || '{}') as CacheReport,
    stderr: result.stderr,
  };
}

test('check --cache: clean when in step; finds entries made wrong behind Sluice, and stores the report', async () => {
  for (const id of ['1', '3']) await get(serve, rowPath('items', id));
  const clean = await checkCache('--database', pipeline.database);
  assert.equal(clean.code, 0, `${clean.stderr}${JSON.stringify(clean.report)}`);
  const items = clean.report.tables.find((t) => t.table === `${pipeline.database}.items`);
  assert.ok(items && items.docs >= 2 && items.stale === 0 && items.extra === 0, JSON.stringify(clean.report));

  // behind Sluice: an L2 entry edited, a row changed and one deleted with the binary log off
  const layout = { prefix: `${pipeline.env.SLUICE_REDIS_PREFIX}:${pipeline.env.SLUICE_CLUSTER}` };
  const key = cacheKey(layout, 'default', { table: `${pipeline.database}.items`, pk: '1' });
  const held = JSON.parse((await redis.get(key)) as string) as { value: { name: string } };
  held.value.name = 'edited in Redis';
  await redis.set(key, JSON.stringify(held), 'PX', 60_000);
  await get(serve, rowPath('items', '404'));
  await db.query('SET SESSION sql_log_bin = 0');
  await db.query(`INSERT INTO items (id, name) VALUES (404, 'unseen')`);
  await db.query('DELETE FROM items WHERE id = 3');
  await db.query('SET SESSION sql_log_bin = 1');

  const found = await checkCache('--table', `${pipeline.database}.items`);
  assert.equal(found.code, 1, `differences found: ${found.stderr}`);
  const [t] = found.report.tables;
  assert.equal(found.report.tables.length, 1, 'only the table asked for');
  assert.deepEqual([t?.index, t?.ids.stale?.sort(), t?.ids.extra], ['row cache', ['1', '404'], ['3']]);
  const last = await runSluice(['check', '--last'], pipeline.env);
  assert.equal(last.code, 1);
  assert.match(last.stdout, /DIFF .*items → row cache: .*2 stale, 1 extra/);
});
