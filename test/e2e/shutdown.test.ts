// Graceful shutdown: SIGTERM and SIGINT drain every service and stop it with exit code 0; a worker
// leaves the cluster before it exits, so its shards are handed over without waiting for its ZooKeeper
// session to expire. How long a stop and a handover take is measured by test/bench/failover.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { workerStatus } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';
import { connectZk, memberIds, type RawZk } from '../support/zk.ts';

const DRAIN_MS = 3000;
let pipeline: Pipeline;
let zk: RawZk;

before(async () => {
  pipeline = await createPipeline({ env: { SLUICE_DRAIN_TIMEOUT_MS: String(DRAIN_MS) } });
  zk = await connectZk();
});

after(async () => {
  zk?.close();
  await pipeline?.close();
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  for (const kind of ['ingest', 'worker'] as const) {
    test(`${kind} drains on ${signal} and exits with code 0`, async () => {
      const service = await pipeline.start(kind);
      const code = await service.stop(signal, DRAIN_MS + 5000);
      assert.equal(code, 0, `exit code after ${signal}`);
      const log = readFileSync(service.logFile, 'utf8');
      const draining = log.search(new RegExp(`"signal":"${signal}".*"msg":"signal received: draining"`));
      const stopped = log.search(/"state":"stopped","msg":"stopped"/);
      assert.ok(draining >= 0, `the ${signal} is logged`);
      assert.ok(stopped > draining, 'stopped after draining');
      const failed = log.split('\n').filter((line) => line.includes('"msg":"stop step failed"'));
      assert.deepEqual(failed, [], 'every step of the drain succeeded');
    });
  }
}

test('a stopping worker leaves the cluster before it exits, and its shards are handed over', async () => {
  const a = await pipeline.start('worker');
  const b = await pipeline.start('worker');
  await waitFor('two workers sharing the shards', async () => {
    const [sa, sb] = await Promise.all([workerStatus(a), workerStatus(b)]);
    return sa.owned.length === 8 && sb.owned.length === 8 ? true : undefined;
  });
  const [leaving, staying] = await Promise.all([workerStatus(a), workerStatus(b)]);
  const cluster = pipeline.env.SLUICE_CLUSTER as string;
  assert.deepEqual(await memberIds(zk, cluster), [leaving.workerId, staying.workerId].sort());
  assert.equal(await a.stop('SIGTERM'), 0);
  // Its member node is gone the moment it has exited: removed, not left to expire with the session.
  assert.deepEqual(await memberIds(zk, cluster), [staying.workerId]);
  await waitFor('the other worker to own all 16 shards', async () =>
    (await workerStatus(b)).owned.length === 16 ? true : undefined,
  );
});
