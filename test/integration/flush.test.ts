// The flush runner against real Redis, MySQL and Elasticsearch: outcomes of every kind settle the
// buffer and the backup as designed.
import assert from 'node:assert/strict';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { BackupRepository, DeadLetterRepository, type Pool, SyncMonitorRepository } from '@sluice/backup';
import { encodeValue, RedisBuffer, recordField } from '@sluice/buffer';
import { FencedError, Mapping, shardOfTable } from '@sluice/core';
import { createLogger, createRegistry, flushMetrics } from '@sluice/runtime';
import { type EsApi, EsRequestError, IndexManager } from '@sluice/sink';
import { FlushRunner } from '@sluice/worker';
import type { Redis } from 'ioredis';
import type { RowDataPacket } from 'mysql2/promise';
import { openEs, uniqueIndexPrefix } from '../support/elastic.ts';
import { type Backends, openBackends } from '../support/integration.ts';
import { stack } from '../support/stack.ts';

let backends: Backends;
let redis: Redis;
let pool: Pool;
let es: EsApi;
let buffer: RedisBuffer;
let backup: BackupRepository;
let runner: FlushRunner;
const prefix = uniqueIndexPrefix('flush');
const table = 'shop.items';
const mapping = new Mapping(
  { tables: { 'shop.items': { mappings: { properties: { qty: { type: 'integer' } } } } } },
  prefix,
);
const index = mapping.defaultIndex('shop', 'items');
const shard = shardOfTable(table, 16);
const noFence = { check: () => undefined };

/** A flush runner on the test's MySQL and mapping; `indicesVia` creates indices (default: `es`). */
function flushRunner(options: { es: EsApi; indicesVia?: EsApi; buffer: RedisBuffer; maxRetry: number }) {
  const { es: target, indicesVia = options.es } = options;
  return new FlushRunner(
    {
      buffer: options.buffer,
      backup,
      deadLetters: new DeadLetterRepository(pool),
      monitor: new SyncMonitorRepository(pool),
      es: target,
      indices: new IndexManager(indicesVia, {
        gcDeletes: '1h',
        replicas: 0,
        shards: 1,
        refreshInterval: '1s',
      }),
      mapping,
      metrics: flushMetrics(createRegistry('test')),
      logger: createLogger('test', 'silent'),
    },
    {
      workerId: 'test',
      batchSize: 1000,
      bulkConcurrency: 2,
      windowMs: 30_000,
      maxRetry: options.maxRetry,
      bulkMaxBytes: 64 * 1024,
    },
  );
}

before(async () => {
  backends = await openBackends(prefix);
  ({ redis, es } = backends);
  pool = backends.meta.pool;
  buffer = new RedisBuffer(redis, { prefix, cluster: 't', shards: 16, retryBaseMs: 1000 });
  backup = new BackupRepository(pool);
  runner = flushRunner({ es, buffer, maxRetry: 1 });
});

after(async () => {
  await backends?.close();
});

async function put(pk: string, version: number, doc: Record<string, unknown> | null): Promise<void> {
  const json = doc === null ? '' : JSON.stringify(doc);
  const op = doc === null ? 'delete' : 'upsert';
  await buffer.upsert([
    { shard, field: recordField(table, pk), version, value: encodeValue(version, Date.now(), op, json) },
  ]);
  await backup.commitBatch(
    [
      {
        shard,
        tableName: table,
        primaryKey: pk,
        version,
        op: op === 'delete' ? 'd' : 'u',
        data: doc === null ? null : json,
        sourceTs: Date.now(),
      },
    ],
    [],
  );
}

async function getDoc(id: string): Promise<{ found: boolean; version?: number; source?: unknown }> {
  const r = await es.request<{ found: boolean; _version?: number; _source?: unknown }>(
    { method: 'GET', path: `/${index}/_doc/${encodeURIComponent(id)}` },
    { ignore: [404] },
  );
  return { found: r.body.found, version: r.body._version, source: r.body._source };
}

test('several batches in one window; every record written once with its version; buffer and backup settled', async () => {
  for (let i = 0; i < 4500; i++) await put(`n${i}`, 100 + i, { qty: i });
  const summary = await runner.flushShard(shard, noFence);
  assert.equal(summary.batches, 3, 'takes of 2000 (two bulks of 1000 side by side) until the shard is empty');
  assert.equal(summary.written, 4500);
  assert.equal(summary.failed, false);
  assert.equal((await buffer.stats([shard]))[0]?.pending, 0);
  assert.equal((await backup.listUnsynced(shard, 10)).length, 0);
  const doc = await getDoc('n42');
  assert.deepEqual([doc.found, doc.version, doc.source], [true, 142, { qty: 42 }]);
  const [monitor] = await pool.query<RowDataPacket[]>(
    'SELECT COUNT(*) AS n, SUM(success_count) AS ok FROM sync_monitor',
  );
  assert.deepEqual([Number(monitor[0]?.n), Number(monitor[0]?.ok)], [3, 4500]);
});

test('an older version is refused by Elasticsearch and counted as done; the newer document stays', async () => {
  await put('v', 500, { qty: 5 });
  await runner.flushShard(shard, noFence);
  await put('v', 400, { qty: 4 }); // e.g. a replay that bypassed the buffer's memory
  const summary = await runner.flushShard(shard, noFence);
  assert.deepEqual([summary.refused, summary.written], [1, 0]);
  assert.deepEqual((await getDoc('v')).source, { qty: 5 });
  assert.equal((await buffer.stats([shard]))[0]?.pending, 0, 'a refused record is settled');
});

test('a delete of a missing document is success; a delete then an older insert cannot resurrect it', async () => {
  await put('gone', 700, null);
  let summary = await runner.flushShard(shard, noFence);
  assert.equal(summary.absent, 1);
  await put('gone', 650, { qty: 1 });
  summary = await runner.flushShard(shard, noFence);
  assert.equal(summary.refused, 1, 'the delete tombstone refuses the older write');
  assert.equal((await getDoc('gone')).found, false);
});

test('a mapping error dead-letters only that document', async () => {
  await put('bad', 800, { qty: 'not a number' });
  await put('good', 801, { qty: 3 });
  const summary = await runner.flushShard(shard, noFence);
  assert.deepEqual([summary.dead, summary.written], [1, 1]);
  const letters = await new DeadLetterRepository(pool).list({ stage: 'flush' });
  assert.equal(letters.length, 1);
  assert.equal(letters[0]?.reason, 'es_mapping_error');
  assert.equal(letters[0]?.primaryKey, 'bad');
  assert.match(letters[0]?.detail ?? '', /qty/);
  assert.equal((await getDoc('good')).found, true);
  const [rows] = await pool.query<RowDataPacket[]>(
    "SELECT sync_state FROM buffer_backup WHERE primary_key = 'bad'",
  );
  assert.equal(rows[0]?.sync_state, 2, 'the backup row is marked dead');
  assert.equal((await buffer.stats([shard]))[0]?.pending, 0);
});

test('a fenced flush writes nothing more and leaves the records buffered', async () => {
  await put('fenced', 900, { qty: 9 });
  await assert.rejects(
    runner.flushShard(shard, {
      check: () => {
        throw new FencedError('lost the shard');
      },
    }),
    FencedError,
  );
  assert.equal((await getDoc('fenced')).found, false);
  assert.equal((await buffer.stats([shard]))[0]?.pending, 1);
  await runner.flushShard(shard, noFence);
  assert.equal((await getDoc('fenced')).found, true);
});

test('Elasticsearch unreachable: the records stay buffered with a backoff, nothing is lost', async () => {
  const down = await openEs();
  const broken: EsApi = {
    ...down,
    major: down.major,
    serverVersion: down.serverVersion,
    request: async (req, options) => {
      if (req.path === '/_bulk')
        throw new EsRequestError('POST /_bulk', 0, new Error('connect ECONNREFUSED'));
      return down.request(req, options);
    },
    close: () => down.close(),
  };
  const failing = flushRunner({ es: broken, indicesVia: down, buffer, maxRetry: 1 });
  await put('later', 1000, { qty: 10 });
  const summary = await failing.flushShard(shard, noFence);
  assert.deepEqual([summary.failed, summary.retried], [true, 1]);
  const [stats] = await buffer.stats([shard]);
  assert.deepEqual([stats?.pending, stats?.delayed], [1, 1]);
  assert.equal((await backup.listUnsynced(shard, 10)).filter((r) => r.primaryKey === 'later').length, 1);
  await down.close();
});

/** A TCP gate in front of the real Elasticsearch: closed, its port refuses connections. */
async function esGate(): Promise<{ url: string; open(): Promise<void>; close(): Promise<void> }> {
  const target = new URL(stack().esUrl);
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const open = () =>
    new Promise<void>((resolve) => {
      const listening = createServer((client) => {
        const upstream = connect(Number(target.port), target.hostname);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      server = listening;
      listening.listen(port, '127.0.0.1', () => {
        port = (listening.address() as AddressInfo).port;
        resolve();
      });
    });
  const close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server?.close(() => resolve());
    });
  await open();
  const url = new URL(target);
  url.port = String(port);
  return { url: url.toString(), open, close };
}

test('regression: once Elasticsearch answers again, records put aside after a connection failure are retried at once, not after their backoff', async () => {
  const gate = await esGate();
  const viaGate = await openEs(gate.url, { requestTimeoutMs: 5000, maxRetries: 0 });
  // A backoff far longer than the test: only the early release can make the record due.
  const slowBuffer = new RedisBuffer(redis, { prefix, cluster: 'gate', shards: 16, retryBaseMs: 600_000 });
  const gated = flushRunner({ es: viaGate, buffer: slowBuffer, maxRetry: 0 });
  try {
    const version = 5000;
    await slowBuffer.upsert([
      {
        shard,
        field: recordField(table, 'gated'),
        version,
        value: encodeValue(version, Date.now(), 'upsert', JSON.stringify({ qty: 7 })),
      },
    ]);
    await gated.flushShard(shard, noFence); // creates the index while Elasticsearch is reachable
    assert.equal((await getDoc('gated')).version, version);

    await slowBuffer.upsert([
      {
        shard,
        field: recordField(table, 'gated'),
        version: version + 1,
        value: encodeValue(version + 1, Date.now(), 'upsert', JSON.stringify({ qty: 8 })),
      },
    ]);
    await gate.close();
    const failed = await gated.flushShard(shard, noFence);
    assert.deepEqual([failed.failed, failed.retried], [true, 1]);
    const [aside] = await slowBuffer.stats([shard]);
    assert.deepEqual([aside?.pending, aside?.delayed], [1, 1], 'put aside with a 10-minute backoff');
    const stillDown = await gated.flushShard(shard, noFence);
    assert.equal(stillDown.records, 0, 'nothing is tried while Elasticsearch is still unreachable');

    await gate.open();
    const recovered = await gated.flushShard(shard, noFence);
    assert.deepEqual([recovered.failed, recovered.written], [false, 1]);
    const doc = await getDoc('gated');
    assert.deepEqual([doc.version, doc.source], [version + 1, { qty: 8 }]);
    const [after] = await slowBuffer.stats([shard]);
    assert.deepEqual([after?.pending, after?.delayed], [0, 0]);
  } finally {
    await slowBuffer.clear();
    await viaGate.close();
    await gate.close();
  }
});
