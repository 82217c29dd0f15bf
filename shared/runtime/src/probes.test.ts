import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DependencyProbes } from './probes.ts';

test('a failing or silent dependency is a reason, with since when and the error; answering again clears it', async () => {
  let now = 1_000_000;
  const state = { redis: true, mysql: true };
  const probes = new DependencyProbes(
    {
      redis: async () => {
        if (!state.redis) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      },
      mysql: () => (state.mysql ? Promise.resolve() : new Promise(() => {})),
    },
    { timeoutMs: 50, now: () => now },
  );
  await probes.runOnce();
  assert.deepEqual(probes.reasons(), []);

  state.redis = false;
  state.mysql = false;
  await probes.runOnce();
  now += 7000;
  await probes.runOnce();
  assert.deepEqual(probes.reasons(), [
    'mysql unreachable for 7 s: no answer within 50 ms',
    'redis unreachable for 7 s: connect ECONNREFUSED 127.0.0.1:6379',
  ]);

  state.redis = true;
  await probes.runOnce();
  assert.deepEqual(probes.reasons(), ['mysql unreachable for 7 s: no answer within 50 ms']);
});

test('a task that uses a dependency anyway reports it; credentials in the error are hidden', () => {
  const probes = new DependencyProbes({}, { timeoutMs: 50, now: () => 0 });
  probes.report('kafka', new Error('broker kafka://sluice:s3cret@10.0.0.5:9092 is down'));
  assert.deepEqual(probes.reasons(), [
    'kafka unreachable for 0 s: broker kafka://sluice:***@10.0.0.5:9092 is down',
  ]);
  probes.report('kafka');
  assert.deepEqual(probes.reasons(), []);
});
