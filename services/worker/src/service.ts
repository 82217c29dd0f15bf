// The worker service, wired from its parts:
//   options.ts       settings → the worker's options (identity, coordination, keys, bounds)
//   dependencies.ts  connections and what is built on them (the flush runner), each closing itself
//   flush-job.ts     one shard's flush: under its lock, writing only while the shard is still ours
//   status.ts        /health and /status
//   shard-manager.ts the owned shards' schedules (scheduler.ts), following ZooKeeper or a fixed list
//   maintenance.ts   background tasks (Redis restart watch, recovery sweep, gauges, backup purge)
// On stop (reverse order): background tasks, then the cluster (no new jobs; the flush in flight ends
// within the drain bound and releases its lock; then the member node goes), HTTP, the connections.
import { hostname } from 'node:os';
import { redisRunId } from '@sluice/buffer';
import type { SettingValues } from '@sluice/config';
import { Coordinator, clusterPaths, type ZkSession } from '@sluice/coord';
import { Recovery } from '@sluice/pipeline';
import {
  createRegistry,
  DependencyProbes,
  flushMetrics,
  Lifecycle,
  type Logger,
  Periodic,
  SLUICE_VERSION,
  startHttp,
} from '@sluice/runtime';
import { collectClusterStatus, statusPageRoutes } from '@sluice/status';
import { zkSession } from '@sluice/wiring';
import { clusterSources, PRESENCE_INTERVAL_MS, workerPresence } from '@sluice/wiring/status';
import { checkJob } from './check-job.ts';
import { openWorkerDependencies } from './dependencies.ts';
import { FlushJob } from './flush-job.ts';
import { ShardLocks } from './locks.ts';
import { startMaintenance } from './maintenance.ts';
import { NightlyCheck } from './nightly-check.ts';
import { compileWorkerOptions } from './options.ts';
import { FlushScheduler } from './scheduler.ts';
import { type Ownership, ShardManager, StaticOwnership } from './shard-manager.ts';
import { WorkerStatus } from './status.ts';

export interface WorkerHandle {
  lifecycle: Lifecycle;
  httpPort: number;
  workerId: string;
  stop(): Promise<void>;
}

export async function startWorker(settings: SettingValues, parentLogger: Logger): Promise<WorkerHandle> {
  const options = compileWorkerOptions(settings);
  const { workerId } = options;
  // Every line of this worker names it (the id its ZooKeeper member record carries).
  const logger = parentLogger.child({ workerId });
  const lifecycle = new Lifecycle({ logger, forceExitMs: options.forceExitMs });
  const registry = createRegistry('worker');
  const metrics = flushMetrics(registry);
  metrics.shards.set(options.shards);
  const deps = await openWorkerDependencies(settings, options, lifecycle, metrics, logger);
  const { buffer, backup } = deps;

  const recovery = new Recovery(buffer, backup, logger);
  const scheduler = new FlushScheduler(deps.queueRedis, { ...options.scheduler, logger });
  let ownership: Ownership | undefined;
  const job = new FlushJob({
    runner: deps.runner,
    locks: new ShardLocks(deps.redis, options.lock.keyOf, options.lock.ttlMs),
    ownership: () => {
      if (!ownership) throw new Error('flush before the worker joined its cluster');
      return ownership;
    },
    logger,
  });

  // Readiness follows the dependencies the flush needs (checked by a background task below).
  const probes = new DependencyProbes(
    {
      redis: () => deps.redis.ping(),
      'metadata MySQL': () => deps.metadata.query('SELECT 1'),
      elasticsearch: () => deps.es.request({ method: 'GET', path: '/_cluster/health' }),
    },
    { timeoutMs: options.probes.timeoutMs },
  );

  // The HTTP endpoint first: its port goes into the member record.
  const status = new WorkerStatus({
    workerId,
    lifecycle,
    flushing: () => job.flushing(),
    stats: (shards) => buffer.stats(shards),
    dependencies: () => probes.reasons(),
  });
  // The status page shows the whole cluster; ZooKeeper's part once the session below is open.
  let zk: ZkSession | undefined;
  const view = () =>
    collectClusterStatus(clusterSources(settings, { redis: deps.redis, metadata: deps.metadata, zk }));
  const http = await startHttp(
    options.http.host,
    options.http.port,
    registry,
    status,
    {
      token: options.http.adminToken,
      actions: {
        recover: () => recovery.recoverShards(status.owned()),
        flush: async () => {
          const shards = status.owned();
          await Promise.all(shards.map((shard) => scheduler.flushNow(shard, job.run)));
          return { flushed: shards };
        },
      },
    },
    statusPageRoutes(view),
  );
  lifecycle.onStop('http', () => http.close());

  let coordinator: Coordinator | undefined;
  if (options.coordination.kind === 'zookeeper') {
    zk = zkSession({ ...settings, zkConnect: options.coordination.connect }, logger);
    await zk.connect();
    coordinator = new Coordinator({
      zk,
      paths: clusterPaths(settings.cluster),
      info: {
        id: workerId,
        host: hostname(),
        pid: process.pid,
        startTime: Date.now(),
        version: SLUICE_VERSION,
        httpPort: http.port,
      },
      shards: options.shards,
      logger,
      onLeadership: () => scheduler.ensureSchedulers(options.allShards),
    });
    ownership = coordinator;
  } else {
    ownership = new StaticOwnership(options.coordination.shards);
    await scheduler.ensureSchedulers(options.allShards);
  }
  const manager = new ShardManager({ ownership, scheduler, recovery, job: job.run, metrics, logger });
  status.attach({ manager, ...(coordinator ? { coordinator } : {}) });
  lifecycle.onStop('cluster', async () => {
    await manager.stop();
    await coordinator?.stop();
  });
  await coordinator?.start();
  await manager.start();

  // What this worker holds and last flushed, for the status page (removed when it stops).
  const presence = workerPresence(deps.redis, settings);
  const startTime = Date.now();
  lifecycle.onStop('presence', () => presence.remove(workerId).catch(() => undefined));
  const periodic = new Periodic({ logger, active: () => lifecycle.state === 'running' });
  lifecycle.onStop('background', () => periodic.stop());
  periodic.every(PRESENCE_INTERVAL_MS, 'presence', () =>
    presence.publish({
      id: workerId,
      host: hostname(),
      version: SLUICE_VERSION,
      startTime,
      at: Date.now(),
      owned: manager.owned(),
      fenced: manager.isFenced(),
      lastFlush: job.lastFlushes(),
    }),
  );
  periodic.every(options.probes.intervalMs, 'dependency-probes', () => probes.runOnce());
  await startMaintenance(
    {
      periodic,
      owned: () => manager.owned(),
      runId: () => redisRunId(deps.redis),
      ensureSchedulers: (shards) => scheduler.ensureSchedulers(shards),
      recovery,
      stats: (shards) => buffer.stats(shards),
      backup,
      reports: deps.reports,
      monitor: deps.monitor,
      metrics,
      logger,
    },
    options.maintenance,
  );

  // The nightly check runs on one worker per tick; it needs the source MySQL.
  const nightly = new NightlyCheck(deps.queueRedis, {
    prefix: options.scheduler.prefix,
    cluster: settings.cluster,
    pattern: deps.source ? options.check.pattern : undefined,
    logger,
  });
  if (deps.source) {
    await nightly.ensureSchedule();
    nightly.start(
      checkJob(
        { source: deps.source, es: deps.es, mapping: deps.mapping, reports: deps.reports, logger },
        options.check,
      ),
    );
    lifecycle.onStop('nightly-check', () => nightly.stop());
  } else if (options.check.pattern) {
    logger.info('no SLUICE_SOURCE_MYSQL_URL: the nightly check is off');
  }

  lifecycle.running();
  logger.info(
    {
      workerId,
      httpPort: http.port,
      owned: manager.owned(),
      coordination: options.coordination.kind,
      es: deps.es.serverVersion,
    },
    'worker running',
  );
  return { lifecycle, httpPort: http.port, workerId, stop: () => lifecycle.stop(0) };
}
