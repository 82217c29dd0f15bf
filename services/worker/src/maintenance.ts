// The worker's background tasks, each on its own interval (runtime/periodic.ts) while it runs:
//   redis-restart-watch  Redis's run_id changed (a restart: without persistence an empty buffer and no
//                        schedules): make the owned shards' schedules again and recover them
//   recovery-sweep       re-buffer unsynced backup rows of the owned shards (a safety net; optional)
//   buffer-gauges        pending depth and oldest age per owned shard
//   check-gauges         the newest stored check report as gauges (differences, when it ran)
//   backup-maintenance   the unsynced-row gauge; settled backup rows and sync_monitor rows purged after
//                        their retentions
import type { BackupRepository, CheckReportRepository, SyncMonitorRepository } from '@sluice/backup';
import type { ShardStats } from '@sluice/buffer';
import { shardLabel } from '@sluice/core';
import type { Recovery } from '@sluice/pipeline';
import type { FlushMetrics, Logger, Periodic } from '@sluice/runtime';
import type { WorkerOptions } from './options.ts';

export interface MaintenanceDeps {
  periodic: Periodic;
  owned: () => number[];
  runId: () => Promise<string>;
  ensureSchedulers: (shards: number[]) => Promise<void>;
  recovery: Pick<Recovery, 'recoverShards'>;
  stats: (shards: number[]) => Promise<ShardStats[]>;
  backup: Pick<BackupRepository, 'countUnsynced' | 'purgeSettled'>;
  reports: Pick<CheckReportRepository, 'lastRun'>;
  monitor: Pick<SyncMonitorRepository, 'purge'>;
  metrics: FlushMetrics;
  logger: Logger;
}

export async function startMaintenance(
  deps: MaintenanceDeps,
  options: WorkerOptions['maintenance'],
): Promise<void> {
  const { periodic, owned, recovery, metrics, logger } = deps;
  const recover = async () => {
    const result = await recovery.recoverShards(owned());
    metrics.recovered.inc(result.rebuffered);
  };

  let runId = await deps.runId();
  periodic.every(options.redisRestartCheckMs, 'redis-restart-watch', async () => {
    const current = await deps.runId();
    if (current === runId) return;
    logger.warn(
      { previous: runId, current },
      'Redis restarted (or a master failed over): recovering the buffer and the flush schedules',
    );
    runId = current;
    await deps.ensureSchedulers(owned());
    await recover();
  });
  if (options.recoveryIntervalMs > 0) periodic.every(options.recoveryIntervalMs, 'recovery-sweep', recover);
  let exported = new Set<string>();
  periodic.every(options.gaugesMs, 'buffer-gauges', async () => {
    const now = Date.now();
    const shown = new Set<string>();
    for (const s of await deps.stats(owned())) {
      const shard = shardLabel(s.shard);
      metrics.pending.set({ shard }, s.pending);
      metrics.oldestAge.set({ shard }, s.oldestBufferedAt === null ? 0 : (now - s.oldestBufferedAt) / 1000);
      shown.add(shard);
    }
    // A shard released while its stats were read (the release already dropped its series) or since
    // the last round: its series go now, and only owned shards' series stay.
    const still = new Set(owned().map(shardLabel));
    for (const shard of new Set([...exported, ...shown])) {
      if (still.has(shard)) continue;
      metrics.pending.remove({ shard });
      metrics.oldestAge.remove({ shard });
      shown.delete(shard);
    }
    exported = shown;
  });
  periodic.every(options.checkGaugesMs, 'check-gauges', async () => {
    const run = await deps.reports.lastRun();
    metrics.checkDifferences.reset();
    metrics.checkLastRun.set(run?.finishedAt ? run.finishedAt / 1000 : 0);
    for (const t of run?.tables ?? []) {
      for (const kind of ['missing', 'stale', 'extra'] as const)
        metrics.checkDifferences.set({ table: t.table, kind }, t[kind]);
    }
  });
  periodic.every(options.backupMaintenanceMs, 'backup-maintenance', async () => {
    metrics.backupUnsynced.set(await deps.backup.countUnsynced());
    await deps.backup.purgeSettled(options.backupRetentionMs);
    if (options.syncMonitorRetentionMs > 0) await deps.monitor.purge(options.syncMonitorRetentionMs);
  });
}
