import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createRegistry, flushMetrics, forgetShard, METRIC } from './metrics.ts';
import { SLUICE_VERSION } from './version.ts';

test("Node's process metrics keep their standard names, with the service as a label", async () => {
  const text = await createRegistry('worker').metrics();
  assert.match(text, /^process_cpu_seconds_total\{service="worker"\} /m);
  assert.match(text, /^process_resident_memory_bytes\{service="worker"\} /m);
  assert.match(text, /^nodejs_heap_size_used_bytes\{service="worker"\} /m);
  assert.doesNotMatch(text, /sluice_process_/);
});

test('sluice_build_info names the version of the root package.json and the Node version', async () => {
  const root = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  assert.equal(SLUICE_VERSION, root.version);
  const text = await createRegistry('ingest').metrics();
  assert.ok(
    text.includes(
      `sluice_build_info{version="${root.version}",node="${process.version}",service="ingest"} 1`,
    ),
    text.split('\n').find((l) => l.startsWith('sluice_build_info')),
  );
});

test('a shard the worker no longer owns has no gauge series; the others keep theirs', async () => {
  const registry = createRegistry('worker');
  const metrics = flushMetrics(registry);
  metrics.shards.set(16);
  for (const shard of ['00', '01']) {
    metrics.owned.set({ shard }, 1);
    metrics.pending.set({ shard }, 3);
    metrics.oldestAge.set({ shard }, 1.5);
  }
  forgetShard(metrics, '00');
  const text = await registry.metrics();
  for (const name of [METRIC.shardOwned, METRIC.bufferPending, METRIC.bufferOldestAge]) {
    assert.doesNotMatch(text, new RegExp(`^${name}\\{[^}]*shard="00"`, 'm'), `${name} of shard 00`);
    assert.match(text, new RegExp(`^${name}\\{[^}]*shard="01"`, 'm'), `${name} of shard 01`);
  }
  assert.match(text, /^sluice_shards\{service="worker"\} 16$/m);
});
