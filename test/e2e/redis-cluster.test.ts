// The pipeline on the stack's Redis Cluster (3 masters with a replica each): ingest and workers given
// the cluster's seed nodes (SLUICE_REDIS_CLUSTER), a MySQL workload running, then every table must
// equal its index — first as it is, then through a worker killed -9 while another joins (the
// handoff under ZooKeeper and Redlock on the cluster), then through a master failover under load
// (CLUSTER FAILOVER on a replica: clients follow the moved slots, the workers see the masters' run
// ids change and recover from the backup table what the old master may not have replicated).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { mastersOf, openRedis, RedisBuffer, type RedisLike } from '@sluice/buffer';
import { runWorkload, WORKLOAD_TABLES, type WorkloadStats } from '@sluice/loadgen';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { clusterNodeRole, promoteReplica } from '../support/redis.ts';
import { type ServiceProcess, workerStatus } from '../support/services.ts';
import { stack, stackScript } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
let pipeline: Pipeline;
let redis: RedisLike;
let buffer: RedisBuffer;
let seed = 20261203;

before(async () => {
  await run('bash', [stackScript, 'up', 'redis-cluster'], { timeout: 120_000 });
  const url = stack()
    .redisClusterNodes.map((address) => `redis://${address}`)
    .join(',');
  pipeline = await createPipeline({
    env: {
      SLUICE_REDIS_URL: url,
      SLUICE_REDIS_CLUSTER: 'true',
      SLUICE_WINDOW_MS: '1000',
      SLUICE_ZK_SESSION_TIMEOUT_MS: '4000',
      SLUICE_DRAIN_TIMEOUT_MS: '3000',
      // the row cache's invalidations too: one script per table, in the table's slot
      SLUICE_CACHE_INVALIDATION: 'true',
    },
  });
  redis = await openRedis(url, { cluster: true });
  buffer = new RedisBuffer(redis, {
    prefix: pipeline.env.SLUICE_REDIS_PREFIX as string,
    cluster: pipeline.env.SLUICE_CLUSTER as string,
    shards: 16,
  });
  await pipeline.start('ingest');
  await pipeline.start('worker');
  await pipeline.start('worker');
});

after(async () => {
  await pipeline?.close();
  if (redis) {
    for (const node of mastersOf(redis)) {
      for await (const keys of node.scanStream({ match: `*${pipeline.id}*`, count: 1000 }))
        for (const key of keys as string[]) await redis.del(key);
    }
    redis.disconnect();
  }
});

const live = (): ServiceProcess[] =>
  pipeline.services.filter(
    (s) => s.name.startsWith('worker') && s.child.exitCode === null && s.child.signalCode === null,
  );

/** Every shard owned by exactly one live worker. */
async function settled(): Promise<void> {
  await waitFor(
    'every shard owned by one live worker',
    async () => {
      const owned = (await Promise.all(live().map(workerStatus))).flatMap((s) => s.owned);
      return owned.length === 16 && new Set(owned).size === 16 ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

function workload(operations: number): Promise<WorkloadStats> {
  return runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations,
    concurrency: 6,
    seed: seed++,
    hotKeys: 3,
  });
}

/** Converged, and nothing left in the cluster's buffer. */
async function convergedAndDrained(): Promise<void> {
  const diffs = await pipeline.waitConverged(WORKLOAD_TABLES);
  for (const diff of diffs) assert.ok(diff.rows > 0, `${diff.table} has rows to compare`);
  await waitFor(
    'the buffer on the cluster to drain',
    async () => ((await buffer.totalPending()) === 0 ? true : undefined),
    {
      timeoutMs: 30_000,
    },
  );
}

test('a workload converges with the buffer, locks and queues on the cluster', async () => {
  await settled();
  const stats = await workload(6000);
  assert.ok(stats.operations >= 6000);
  await convergedAndDrained();
  // ingest invalidated the changed rows in the row cache: their guards are in their table's slot
  const tag = `{${pipeline.env.SLUICE_REDIS_PREFIX}:${pipeline.env.SLUICE_CLUSTER}:cache:default:${pipeline.database}.accounts}`;
  let guards = 0;
  for (const node of mastersOf(redis))
    for await (const keys of node.scanStream({ match: `${tag}:*:guard`, count: 1000 }))
      guards += (keys as string[]).length;
  assert.ok(guards > 100, `${guards} row guards of accounts`);
});

test('a worker killed -9 under load hands its shards over, and the index converges', async () => {
  const running = workload(8000);
  await sleep(3000);
  const [victim] = live();
  assert.ok(victim, 'a worker to kill');
  await victim.kill9();
  await pipeline.start('worker');
  await running;
  await settled();
  await convergedAndDrained();
});

test('a master fails over under load; the workers recover, and the index converges', async () => {
  const running = workload(8000);
  await sleep(2000);
  const nodes = stack().redisClusterNodes;
  const roles = await Promise.all(nodes.map(clusterNodeRole));
  await promoteReplica(nodes[roles.indexOf('slave')] as string);
  await running;
  await convergedAndDrained();
  await waitFor(
    'a worker to see the failover and recover',
    () =>
      live().some((w) => readFileSync(w.logFile, 'utf8').includes('a master failed over): recovering'))
        ? true
        : undefined,
    { timeoutMs: 30_000 },
  );
});
