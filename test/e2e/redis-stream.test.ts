// The transport without Kafka, end to end on the real stack: MariaDB → the TCP-mode Canal →
// `sluice relay` → Redis Streams (the stack's Redis with the append-only file fsynced on every write)
// → ingest replicas reading under leases → buffer → worker → Elasticsearch. A workload converges;
// a second replica takes half the streams; then the faults of this path, each under load and each
// followed by an exact comparison of every table with its index (0 missing, 0 stale, 0 extra) and a
// check that no binlog event is in a stream twice: kill -9 of an ingest mid-batch, kill -9 of the
// relay mid-batch (a standby relay takes over), a Canal restart, a restart of the stream Redis; last, a reset of the consumer
// group to the start of the streams changes nothing in the index.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { type StreamLayout, streamKey } from '@sluice/source';
import type { Redis } from 'ioredis';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { openStreamRedis } from '../support/redis.ts';
import { metricSum, type ServiceProcess } from '../support/services.ts';
import { stackScript } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
const PARTITIONS = 4;
let pipeline: Pipeline;
let redis: Redis;
let layout: StreamLayout;
let ingest: ServiceProcess;
let seed = 20261204;

before(async () => {
  pipeline = await createPipeline({
    source: 'redis-stream',
    env: { SLUICE_STREAM_PARTITIONS: String(PARTITIONS), SLUICE_WINDOW_MS: '1000' },
  });
  redis = openStreamRedis();
  layout = {
    prefix: pipeline.env.SLUICE_REDIS_PREFIX as string,
    cluster: pipeline.env.SLUICE_CLUSTER as string,
    partitions: PARTITIONS,
  };
});

after(async () => {
  await pipeline?.close();
  redis?.disconnect();
});

const workload = (operations: number) =>
  runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations,
    concurrency: 4,
    seed: seed++,
    hotKeys: 3,
  });

async function heldStreams(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.match(/^sluice_consumer_lag_messages\{/gm)?.length ?? 0;
}

async function streamLag(): Promise<number> {
  let total = 0;
  for (let n = 0; n < PARTITIONS; n++) {
    const groups = (await redis.xinfo('GROUPS', streamKey(layout, n)).catch(() => [])) as unknown[][];
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name === 'sluice-ingest') total += Number(info.lag ?? 0) + Number(info.pending ?? 0);
    }
  }
  return total;
}

/** Every stream's entries carry distinct binlog positions, in increasing order: nothing twice. */
async function assertEachEventOnce(): Promise<number> {
  let entries = 0;
  for (let n = 0; n < PARTITIONS; n++) {
    const seen = new Set<string>();
    let previous: [number, number] = [-1, -1];
    for (const [id, fields] of await redis.xrange(streamKey(layout, n), '-', '+')) {
      const pos = fields[fields.indexOf('pos') + 1] as string;
      assert.ok(!seen.has(pos), `stream ${n}: ${pos} is in the stream twice (again at ${id})`);
      seen.add(pos);
      const [file, offset] = pos.split(':') as [string, string];
      const here: [number, number] = [Number(/(\d+)$/.exec(file)?.[1] ?? 0), Number(offset)];
      assert.ok(
        here[0] > previous[0] || (here[0] === previous[0] && here[1] > previous[1]),
        `stream ${n}: ${pos} comes after a later position`,
      );
      previous = here;
      entries++;
    }
  }
  return entries;
}

async function converged(what: string): Promise<void> {
  const diffs = await pipeline.waitConverged(WORKLOAD_TABLES, 120_000);
  for (const diff of diffs) assert.ok(diff.rows > 0, `${what}: ${diff.table} has rows to compare`);
  await waitFor(
    `${what}: every stream entry acknowledged`,
    async () => ((await streamLag()) === 0 ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  );
  assert.ok((await assertEachEventOnce()) > 0, `${what}: the streams hold the changes`);
}

async function status<T>(service: ServiceProcess): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${service.httpPort}/status`)).json()) as T;
}

async function stack(...args: string[]): Promise<void> {
  await run('bash', [stackScript, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

test('a workload relayed from Canal converges, through a second replica and a kill -9 of one mid-batch', async () => {
  const first = await pipeline.start('ingest', 'stream-ingest-1');
  await pipeline.start('worker');
  await workload(3000);
  await converged('first workload');
  const relay = pipeline.relay as ServiceProcess;
  assert.ok(
    (await metricSum(relay.httpPort, 'sluice_relay_batches_total')) > 0,
    'the relay acknowledged batches',
  );

  const second = await pipeline.start('ingest', 'stream-ingest-2');
  const replicas = [first, second];
  await waitFor(
    'each replica to read half of the streams',
    async () => {
      // Each replica exports the lag of the streams it holds, one series per stream.
      const [a, b] = await Promise.all(replicas.map((r) => heldStreams(r.httpPort)));
      return a === PARTITIONS / 2 && b === PARTITIONS / 2 ? true : undefined;
    },
    { timeoutMs: 40_000 },
  );
  const load = workload(4000);
  // The three tables hash to at most three of the four streams, so one replica may have none of
  // them: the victim is whichever replica is caught in the middle of a batch.
  const victim = await waitFor(
    'a replica in the middle of a batch',
    async () => {
      for (const replica of replicas) {
        const inFlight = (await status<{ inFlight: number }>(replica).catch(() => ({ inFlight: 0 })))
          .inFlight;
        if (inFlight > 0) return replica;
      }
      return undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1 },
  );
  await victim.kill9();
  ingest = victim === first ? second : first;
  await load;
  await converged('after kill -9 of an ingest');
});

test('kill -9 of the relay mid-batch: the standby relay takes over, the batch is written once', async () => {
  const active = pipeline.relay as ServiceProcess;
  const standby = await pipeline.start('relay', 'relay-standby');
  const role = async (relay: ServiceProcess) =>
    (await status<{ role: string }>(relay).catch(() => ({ role: 'unknown' }))).role;
  assert.equal(await role(standby), 'standby', 'one relay per destination: the second waits');
  assert.equal(await role(active), 'active');
  const load = workload(3000);
  await waitFor(
    'the relay with a batch written and not acknowledged',
    async () =>
      (await status<{ inFlight: boolean }>(active).catch(() => ({ inFlight: false }))).inFlight
        ? true
        : undefined,
    { timeoutMs: 60_000, intervalMs: 1 },
  );
  await active.kill9();
  await waitFor(
    'the standby relay to take over',
    async () => ((await role(standby)) === 'active' ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  );
  pipeline.relay = standby;
  await load;
  await converged('after kill -9 of the relay');
});

test('a Canal restart under load: Canal serves again what it had not saved, the relay skips it', async () => {
  const relay = pipeline.relay as ServiceProcess;
  const load = workload(3000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await stack('down', 'canal-tcp');
  await stack('up', 'canal-tcp');
  await load;
  await converged('after a Canal restart');
  assert.equal(relay.child.exitCode, null, 'the relay reconnected by itself');
});

test('a restart of the stream Redis (append-only file) under load loses nothing', async () => {
  const load = workload(3000);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await stack('down', 'redis-stream');
  await stack('up', 'redis-stream');
  await load;
  await converged('after a stream Redis restart');
  assert.equal((pipeline.relay as ServiceProcess).child.exitCode, null, 'the relay reconnected by itself');
  assert.equal(ingest.child.exitCode, null, 'ingest reconnected by itself');
});

test('a consumer-group reset to the start of the streams changes nothing in the index', async () => {
  const before = await Promise.all(WORKLOAD_TABLES.map((t) => pipeline.indexStats(t)));
  const buffered = await metricSum(ingest.httpPort, 'sluice_ingest_records_total');
  const refused = await metricSum(ingest.httpPort, 'sluice_ingest_refused_total');
  for (let n = 0; n < PARTITIONS; n++)
    await redis.xgroup('SETID', streamKey(layout, n), 'sluice-ingest', '0');
  assert.ok((await streamLag()) > 1000, 'every entry is to be delivered again');
  await waitFor(
    'the replayed entries to be read and acknowledged',
    async () => ((await streamLag()) === 0 ? true : undefined),
    { timeoutMs: 60_000 },
  );
  await new Promise((resolve) => setTimeout(resolve, 3000)); // flush windows pass
  await pipeline.waitConverged(WORKLOAD_TABLES);
  const after = await Promise.all(WORKLOAD_TABLES.map((t) => pipeline.indexStats(t)));
  assert.deepEqual(after, before, 'no document written or deleted by the replay');
  // Refused at ingest by version (the applied offsets), not merely by Elasticsearch later.
  assert.equal(
    await metricSum(ingest.httpPort, 'sluice_ingest_records_total'),
    buffered,
    'nothing buffered again',
  );
  assert.ok(
    (await metricSum(ingest.httpPort, 'sluice_ingest_refused_total')) - refused > 1000,
    'the replay was refused',
  );
});
