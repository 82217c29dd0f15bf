// `sluice ingest` with SLUICE_SOURCE=redis-stream on the real stack: Canal's messages (copied into the
// cluster's streams as the relay lays them out) → ingest replicas reading the streams under leases →
// buffer → worker → Elasticsearch. A workload converges; a second replica takes half the streams; a
// replica killed with -9 mid-load leaves its entries pending and the other claims them; then a reset
// of the consumer group to the streams' start re-delivers everything and changes nothing in the index.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { type StreamLayout, streamKey } from '@sluice/source';
import type { Redis } from 'ioredis';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { openRedis } from '../support/redis.ts';
import { metricSum } from '../support/services.ts';
import { StreamFeeder } from '../support/stream-feeder.ts';
import { waitFor } from '../support/wait.ts';

const PARTITIONS = 4;
let pipeline: Pipeline;
let feeder: StreamFeeder;
let redis: Redis;
let layout: StreamLayout;

before(async () => {
  pipeline = await createPipeline({
    env: {
      SLUICE_SOURCE: 'redis-stream',
      SLUICE_STREAM_PARTITIONS: String(PARTITIONS),
      SLUICE_WINDOW_MS: '1000',
    },
  });
  redis = openRedis();
  layout = {
    prefix: pipeline.env.SLUICE_REDIS_PREFIX as string,
    cluster: pipeline.env.SLUICE_CLUSTER as string,
    partitions: PARTITIONS,
  };
  feeder = await StreamFeeder.open(redis, layout, pipeline.database);
});

after(async () => {
  await feeder?.close();
  await pipeline?.close();
  redis?.disconnect();
});

async function heldStreams(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.match(/^sluice_consumer_lag_messages\{/gm)?.length ?? 0;
}

async function streamLag(): Promise<number> {
  let total = 0;
  for (let n = 0; n < PARTITIONS; n++) {
    const groups = (await redis.xinfo('GROUPS', streamKey(layout, n))) as unknown[][];
    for (const g of groups) {
      const info: Record<string, unknown> = {};
      for (let i = 0; i + 1 < g.length; i += 2) info[String(g[i])] = g[i + 1];
      if (info.name === 'sluice-ingest') total += Number(info.lag ?? 0) + Number(info.pending ?? 0);
    }
  }
  return total;
}

test('a workload read from the streams converges, through a second replica and a kill -9 of one', async () => {
  const first = await pipeline.start('ingest', 'stream-ingest-1');
  await pipeline.start('worker');
  const workload = (operations: number, seed: number) =>
    runWorkload({
      url: pipeline.sourceUrl,
      database: pipeline.database,
      operations,
      concurrency: 4,
      seed,
      hotKeys: 3,
    });
  await workload(3000, 20261204);
  await pipeline.waitConverged(WORKLOAD_TABLES);
  assert.ok(feeder.fed > 1000, `the streams carried Canal's messages (${feeder.fed})`);

  const second = await pipeline.start('ingest', 'stream-ingest-2');
  await waitFor(
    'each replica to read half of the streams',
    async () => {
      // Each replica exports the lag of the streams it holds, one series per stream.
      const [a, b] = await Promise.all([first, second].map((r) => heldStreams(r.httpPort)));
      return a === PARTITIONS / 2 && b === PARTITIONS / 2 ? true : undefined;
    },
    { timeoutMs: 40_000 },
  );

  const load = workload(4000, 20261205);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await first.kill9();
  await load;
  const diffs = await pipeline.waitConverged(WORKLOAD_TABLES, 90_000);
  for (const diff of diffs) assert.ok(diff.rows > 0, `${diff.table} has rows to compare`);
  await waitFor(
    'every stream entry acknowledged',
    async () => ((await streamLag()) === 0 ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  );
});

test('a consumer-group reset to the start of the streams changes nothing in the index', async () => {
  const ingest = pipeline.services.find((x) => x.name === 'stream-ingest-2');
  assert.ok(ingest);
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
