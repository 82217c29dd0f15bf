// `npm run bench:cache` — the row cache (shared/cache) under the pipeline's load, on the local stack:
// MariaDB → Canal → Kafka → ingest (SLUICE_CACHE_INVALIDATION) → Redis buffer → worker →
// Elasticsearch running, a workload writing the loadgen's tables and updating the cached table's
// rows at a steady rate. Prints the figures and rewrites the "cache" section of docs/benchmarks.md.
// A benchmark, not a test: nothing here asserts a figure.
//
//   1. get latency per level, one get at a time, in this process (the library, as an application
//      uses it, with sluice serve's loader: the row read from MySQL as the document Sluice indexes):
//      L1 hits, L2 hits (a second cache whose L1 is empty), and misses (the loader, then the store);
//      and gets/s with 64 at once per level;
//   2. invalidation delay: a probe row is updated every 100 ms while a reader polls the cache for it
//      every 2 ms: commit → the cache serves the new row (what an application sees), and the
//      invalidation's own delay, ingest's publish → dropped from L1 (the cache's event).
import { Worker } from 'node:worker_threads';
import { InvalidationListener, RowCache } from '@sluice/cache';
import { encodePk, type Row } from '@sluice/core';
import { SourceRowReader } from '@sluice/serve';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { createPipeline } from '../support/pipeline.ts';
import { stack } from '../support/stack.ts';
import { machine, writeSection } from './report.ts';

const settings = {
  rows: Number(process.env.BENCH_ROWS ?? 20_000),
  gets: Number(process.env.BENCH_GETS ?? 20_000),
  updatesPerSecond: Number(process.env.BENCH_UPDATE_RATE ?? 300),
  workloadRate: Number(process.env.BENCH_RATE ?? 500),
  probes: Number(process.env.BENCH_PROBES ?? 200),
};
const say = (text: string) => process.stdout.write(`${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function quantiles(values: number[]): { p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}

const pipeline = await createPipeline({ env: { SLUICE_CACHE_INVALIDATION: 'true' } });
const db = await pipeline.openSource();
const pool = mysql.createPool({ uri: pipeline.sourceUrl, connectionLimit: 8 });
const clients: Redis[] = [];
const redis = () => {
  const client = new Redis(stack().redisUrl);
  clients.push(client);
  return client;
};
try {
  await db.query(`CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT NOT NULL,
    price DECIMAL(10,2) NOT NULL, updated DATETIME(3) NOT NULL)`);
  for (let i = 0; i < settings.rows; i += 2000) {
    const values = Array.from(
      { length: Math.min(2000, settings.rows - i) },
      (_, j) => `(${i + j + 1}, 'item ${i + j + 1}', ${j}, ${(j % 997) + 0.5}, NOW(3))`,
    );
    await db.query(`INSERT INTO items VALUES ${values.join(',')}`);
  }
  await pipeline.start('ingest');
  await pipeline.start('worker');

  const layout = { prefix: `${pipeline.env.SLUICE_REDIS_PREFIX}:${pipeline.env.SLUICE_CLUSTER}` };
  const reader = new SourceRowReader(pool, pipeline.mapping);
  const invalidationDelays: number[] = [];
  const cacheOf = (events = {}) =>
    new RowCache<Row>({
      redis: redis(),
      layout,
      loader: (ref, seen) => reader.load(ref, seen),
      l1Max: settings.rows,
      events,
    });
  const cache = cacheOf({
    invalidated: (_keys: number, delay: number) => invalidationDelays.push(delay * 1000),
  });
  const listener = new InvalidationListener(redis(), layout);
  listener.register(cache);
  await listener.start();
  const ref = (id: number) => ({ table: `${pipeline.database}.items`, pk: encodePk([String(id)]) });

  // the pipeline's load (a worker thread: no event loop shared with the gets measured)
  say(`load: workload at ${settings.workloadRate}/s, ${settings.updatesPerSecond} updates/s of cached rows`);
  const load = new Worker(new URL('./cache-load.ts', import.meta.url), {
    workerData: {
      url: pipeline.sourceUrl,
      database: pipeline.database,
      rows: settings.rows,
      workloadRate: settings.workloadRate,
      updatesPerSecond: settings.updatesPerSecond,
    },
  });
  const loadDone = new Promise<{ updates: number; workload: number }>((resolve, reject) => {
    load.once('message', resolve);
    load.once('error', reject);
  });
  const loadStarted = Date.now();
  await sleep(3000);

  // 1. latency per level
  const timed = async (ids: number[], on: RowCache<Row>) => {
    const out: number[] = [];
    for (const id of ids) {
      const t = performance.now();
      await on.get(ref(id));
      out.push((performance.now() - t) * 1000);
    }
    return out;
  };
  const rate = async (ids: number[], on: RowCache<Row>) => {
    const t = performance.now();
    for (let i = 0; i < ids.length; i += 64)
      await Promise.all(ids.slice(i, i + 64).map((id) => on.get(ref(id))));
    return ids.length / ((performance.now() - t) / 1000);
  };
  const n = Math.min(settings.gets, Math.floor((settings.rows - 1) / 3));
  const first = Array.from({ length: n }, (_, i) => i + 1);
  const second = Array.from({ length: n }, (_, i) => n + i + 1);
  say(`get latency: ${n} misses, then L1 hits, then L2 hits from a second cache`);
  const miss = quantiles(await timed(first, cache));
  const l1 = quantiles(await timed(first, cache));
  const l2 = quantiles(await timed(first, cacheOf()));
  const missRate = await rate(second, cache);
  const l1Rate = await rate(second, cache);
  const l2Rate = await rate(second, cacheOf());

  // 2. invalidation delay under the load
  say(`invalidation delay: ${settings.probes} probe updates`);
  const probe = settings.rows; // the last row: the load never updates it
  const visible: number[] = [];
  for (let i = 0; i < settings.probes; i++) {
    await cache.get(ref(probe)); // cached before the change
    const name = `probe ${i}`;
    await pool.query('UPDATE items SET name = ? WHERE id = ?', [name, probe]);
    const committed = performance.now();
    for (;;) {
      if ((await cache.get(ref(probe)))?.name === name) break;
      if (performance.now() - committed > 30_000) throw new Error(`probe ${i} never reached the cache`);
      await sleep(2);
    }
    visible.push(performance.now() - committed);
    await sleep(100);
  }
  load.postMessage('stop');
  const done = await loadDone;
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  await load.terminate();
  // the same gets once the load has stopped (the pipeline idle): what the machine's busy cores add
  await sleep(5000);
  await timed(first, cache); // warm again: the load invalidated some
  const l1Idle = quantiles(await timed(first, cache));
  const l2Idle = quantiles(await timed(first, cacheOf()));
  const missIdle = quantiles(
    await timed(
      Array.from({ length: n }, (_, i) => 2 * n + i + 1),
      cache,
    ),
  );
  await timed(second, cache);
  const l1IdleRate = await rate(second, cache);
  const l2IdleRate = await rate(second, cacheOf());
  await listener.stop();
  const seen = quantiles(visible);
  const published = quantiles(invalidationDelays);

  const us = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} µs`;
  const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  const k = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
  const body = `## cache

\`npm run bench:cache\` (test/bench/cache.ts) on ${machine()}; ${new Date().toISOString().slice(0, 10)}.
The whole pipeline runs (Canal → Kafka → ingest with SLUICE_CACHE_INVALIDATION → worker →
Elasticsearch) under a load (in a worker thread) of ${Math.round(done.workload / loadSeconds)} workload changes/s and ${Math.round(done.updates / loadSeconds)} updates/s of the
cached table's rows (${settings.rows.toLocaleString('en-US')} rows); the cache is the library in the benchmark's process with
\`sluice serve\`'s loader (the row read from MySQL as the document Sluice indexes).

| get, one at a time (${n.toLocaleString('en-US')} each) | p50 | p99 | max | idle p50 | idle p99 | gets/s, 64 at once (idle) |
|---|---|---|---|---|---|---|
| L1 hit | ${us(l1.p50)} | ${us(l1.p99)} | ${us(l1.max)} | ${us(l1Idle.p50)} | ${us(l1Idle.p99)} | ${k(l1Rate)} (${k(l1IdleRate)}) |
| L2 hit (Redis) | ${us(l2.p50)} | ${us(l2.p99)} | ${us(l2.max)} | ${us(l2Idle.p50)} | ${us(l2Idle.p99)} | ${k(l2Rate)} (${k(l2IdleRate)}) |
| miss (MySQL, then the guarded store) | ${us(miss.p50)} | ${us(miss.p99)} | ${us(miss.max)} | ${us(missIdle.p50)} | ${us(missIdle.p99)} | ${k(missRate)} |

Under the load the tails (p99, max) are the machine's: its two cores run every server of the stack,
ingest and the worker beside the benchmark, which waits for a core now and then (compare "idle":
the same gets, the load stopped, the stack still running).

| invalidation (${settings.probes} probe updates under the load) | p50 | p99 | max |
|---|---|---|---|
| commit in MySQL → the cache serves the new row | ${ms(seen.p50)} | ${ms(seen.p99)} | ${ms(seen.max)} |
| ingest's invalidation → dropped from L1 | ${ms(published.p50)} | ${ms(published.p99)} | ${ms(published.max)} |

The bound from commit to the new row is Canal's and ingest's (binlog → Kafka → a batch in the buffer
and the backup, then the invalidation), not the cache's: the invalidation itself reaches L1 in
about a millisecond. docs/cache.md says which bound holds when (restarts, a lost subscription).`;
  say(body);
  writeSection('cache', body);
} finally {
  for (const client of clients) client.disconnect();
  await pool.end();
  await db.end();
  await pipeline.close();
}
