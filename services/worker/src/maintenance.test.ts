// The buffer gauges of the worker's background tasks: only the shards it owns have series.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ShardStats } from '@sluice/buffer';
import { shardLabel } from '@sluice/core';
import { flushMetrics, memoryLogger, type Periodic, Registry } from '@sluice/runtime';
import { type MaintenanceDeps, startMaintenance } from './maintenance.ts';

function harness() {
  const tasks = new Map<string, () => Promise<void>>();
  const periodic = {
    every: (_ms: number, name: string, run: () => Promise<void>) => void tasks.set(name, run),
  } as unknown as Periodic;
  const state = { owned: [1, 2, 3], duringStats: () => {} };
  const metrics = flushMetrics(new Registry());
  const deps: MaintenanceDeps = {
    periodic,
    owned: () => [...state.owned],
    runId: async () => 'run-1',
    ensureSchedulers: async () => {},
    recovery: { recoverShards: async () => ({ scanned: 0, rebuffered: 0 }) },
    stats: async (shards) => {
      state.duringStats();
      return shards.map(
        (shard): ShardStats => ({ shard, pending: 5, delayed: 0, oldestBufferedAt: Date.now() - 1000 }),
      );
    },
    backup: { countUnsynced: async () => 0, purgeSettled: async () => 0 },
    reports: { lastRun: async () => undefined },
    monitor: { purge: async () => {} },
    metrics,
    logger: memoryLogger('warn').logger,
  };
  const series = async (gauge: 'pending' | 'oldestAge') =>
    (await metrics[gauge].get()).values.map((v) => v.labels.shard).sort();
  return { tasks, state, deps, series };
}

const options = {
  redisRestartCheckMs: 1000,
  recoveryIntervalMs: 0,
  gaugesMs: 1000,
  checkGaugesMs: 1000,
  backupMaintenanceMs: 1000,
  backupRetentionMs: 1000,
  syncMonitorRetentionMs: 1000,
};

test('the buffer gauges drop a shard once it is not owned, also when it was released while its stats were read', async () => {
  const h = harness();
  await startMaintenance(h.deps, options);
  const round = h.tasks.get('buffer-gauges') as () => Promise<void>;
  await round();
  for (const gauge of ['pending', 'oldestAge'] as const)
    assert.deepEqual(await h.series(gauge), [1, 2, 3].map(shardLabel));

  h.state.owned = [1, 3];
  await round();
  for (const gauge of ['pending', 'oldestAge'] as const)
    assert.deepEqual(await h.series(gauge), [1, 3].map(shardLabel), `${gauge}: shard 2 is gone`);

  // Shard 3 is released after the round took the owned list, before it set the gauges.
  h.state.duringStats = () => {
    h.state.owned = [1];
  };
  await round();
  for (const gauge of ['pending', 'oldestAge'] as const)
    assert.deepEqual(await h.series(gauge), [shardLabel(1)], `${gauge}: shard 3 is gone`);
});
