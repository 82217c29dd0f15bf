// Wiring of the worker service: settings → connections (each checked) → migrations → index defaults →
// flush runner, shard locks, recovery → per-shard schedulers for the owned shards → HTTP → signals.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  BackupRepository,
  DeadLetterRepository,
  migrate,
  openPool,
  SyncMonitorRepository,
  TableResetRepository,
} from '@sluice/backup';
import { checkNoEviction, openRedis, RedisBuffer, shardKeys } from '@sluice/buffer';
import { MysqlSourceRows } from '@sluice/checker';
import {
  esConnection,
  esIndexDefaults,
  loadMapping,
  mysqlSecurity,
  redisSecurity,
  SETTINGS,
  type SettingValues,
} from '@sluice/config';
import { Coordinator, clusterPaths, ZkSession } from '@sluice/coord';
import { ConfigError, FencedError, shardLabel } from '@sluice/core';
import { createRegistry, flushMetrics, Lifecycle, type Logger, startHttp } from '@sluice/runtime';
import { IndexManager, openElastic } from '@sluice/sink';
import { FlushRunner } from './flush-runner.ts';
import { ShardLocks } from './locks.ts';
import { Recovery, redisRunId } from './recovery.ts';
import { FlushScheduler } from './scheduler.ts';
import { type Ownership, ShardManager, StaticOwnership } from './shard-manager.ts';
import { parseShardList } from './shards.ts';
import { TableResets } from './table-resets.ts';

const VERSION = '0.1.0';

export const WORKER_HTTP_PORT = 9402;

export interface WorkerHandle {
  lifecycle: Lifecycle;
  httpPort: number;
  workerId: string;
  stop(): Promise<void>;
}

export function bullPrefix(settings: Pick<SettingValues, 'redisPrefix' | 'cluster'>): string {
  return `{${settings.redisPrefix}:${settings.cluster}:bull}`;
}

export async function startWorker(settings: SettingValues, logger: Logger): Promise<WorkerHandle> {
  const workerId = `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
  const lifecycle = new Lifecycle({ logger, forceExitMs: settings.drainTimeoutMs + 10_000 });
  const registry = createRegistry('worker');
  const metrics = flushMetrics(registry);
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);

  const pool = await openPool(settings.metaMysqlUrl, mysqlSecurity(settings));
  lifecycle.onStop('mysql', () => pool.end());
  await migrate(pool);
  const backup = new BackupRepository(pool);

  const onRedisError = (error: Error) => logger.warn({ err: error }, 'redis connection error');
  const redis = await openRedis(settings.redisUrl, {
    ...redisSecurity(settings),
    connectionName: 'sluice-worker',
    onError: onRedisError,
  });
  await checkNoEviction(redis, settings.redisUrl, settings.redisAllowEviction, (m) => logger.warn(m));
  lifecycle.onStop('redis', async () => {
    await redis.quit();
  });
  const queueRedis = await openRedis(settings.redisUrl, {
    ...redisSecurity(settings),
    connectionName: 'sluice-worker-queues',
    maxRetriesPerRequest: null,
    onError: onRedisError,
  });
  lifecycle.onStop('redis-queues', async () => {
    await queueRedis.quit();
  });

  const es = await openElastic(esConnection(settings));
  lifecycle.onStop('elasticsearch', () => es.close());
  const indices = new IndexManager(es, esIndexDefaults(settings));

  const buffer = new RedisBuffer(redis, {
    prefix: settings.redisPrefix,
    cluster: settings.cluster,
    shards: settings.shards,
    retryMaxMs: settings.retryBackoffMaxMs,
  });
  const deadLetters = new DeadLetterRepository(pool);
  // TRUNCATE / DROP TABLE need to know which rows are gone: the source MySQL, when configured.
  let resets: TableResets | undefined;
  if (settings.sourceMysqlUrl) {
    // Every query names its database: connect to the server (the URL's database may not exist yet).
    const source = await openPool(
      settings.sourceMysqlUrl,
      { ...mysqlSecurity(settings), database: undefined },
      'MySQL (source)',
    );
    lifecycle.onStop('source-mysql', () => source.end());
    resets = new TableResets(
      {
        resets: new TableResetRepository(pool),
        rows: new MysqlSourceRows(source),
        es,
        mapping,
        deadLetters,
        metrics,
        logger,
      },
      { shards: settings.shards, bulkMaxBytes: settings.esBulkMaxBytes },
    );
  }
  const runner = new FlushRunner(
    {
      buffer,
      backup,
      deadLetters,
      monitor: new SyncMonitorRepository(pool),
      es,
      indices,
      mapping,
      metrics,
      logger,
      ...(resets ? { resets } : {}),
    },
    {
      workerId,
      batchSize: settings.batchSize,
      windowMs: settings.windowMs,
      maxRetry: settings.maxRetry,
      bulkMaxBytes: settings.esBulkMaxBytes,
    },
  );
  const lockKey = (shard: number) =>
    `${shardKeys(settings.redisPrefix, settings.cluster, shard).rec.replace(/:rec$/, '')}:lock`;
  const locks = new ShardLocks(redis, lockKey, settings.lockTtlMs);
  const recovery = new Recovery(buffer, backup, logger);
  const scheduler = new FlushScheduler(queueRedis, {
    prefix: bullPrefix(settings),
    cluster: settings.cluster,
    windowMs: settings.windowMs,
    drainTimeoutMs: settings.drainTimeoutMs,
    logger,
  });

  const allShards = Array.from({ length: settings.shards }, (_, i) => i);
  const flushing = new Set<number>();
  const flush = async (shard: number, signal: AbortSignal) => {
    flushing.add(shard);
    try {
      const outcome = await locks
        .withLock(shard, (guard) => runner.flushShard(shard, guard), {
          // Before every write: still owned here (ZooKeeper, read now) and not released or fenced.
          check: async () => {
            if (signal.aborted) throw new FencedError(`shard ${shard} is no longer owned here`);
            await ownership.verify(shard);
          },
        })
        .catch((error: unknown) => {
          if (error instanceof FencedError) {
            logger.warn({ shard, reason: error.message }, 'flush stopped: fenced');
            return { acquired: true as const, value: undefined };
          }
          throw error;
        });
      if (!outcome.acquired) logger.debug({ shard }, 'shard lock busy: another worker is flushing it');
    } finally {
      flushing.delete(shard);
    }
  };

  // The HTTP endpoint first: its port goes into the member record.
  let manager: ShardManager | undefined;
  const http = await startHttp(
    settings.httpHost,
    settings.httpPort ?? WORKER_HTTP_PORT,
    registry,
    {
      live: () => lifecycle.state !== 'failed',
      ready: () => {
        const reasons = lifecycle.state === 'running' ? [] : [`state ${lifecycle.state}`];
        if (manager?.isFenced()) reasons.push('self-fenced: membership not proven');
        return { ready: reasons.length === 0, reasons };
      },
      status: async () => ({
        service: 'worker',
        workerId,
        state: lifecycle.state,
        fenced: manager?.isFenced() ?? false,
        leader: coordinator?.isLeader() ?? false,
        epoch: coordinator?.current()?.epoch ?? null,
        owned: manager?.owned() ?? [],
        flushing: [...flushing].sort((x, y) => x - y),
        shards: await buffer.stats(manager?.owned() ?? []),
      }),
    },
    {
      token: settings.adminToken,
      actions: {
        recover: () => recovery.recoverShards(manager?.owned() ?? []),
        flush: async () => {
          const shards = manager?.owned() ?? [];
          await Promise.all(shards.map((shard) => scheduler.flushNow(shard, flush)));
          return { flushed: shards };
        },
      },
    },
  );

  lifecycle.onStop('http', () => http.close());

  let ownership: Ownership;
  let coordinator: Coordinator | undefined;
  if (settings.zkConnect) {
    if (settings.staticShards !== undefined) {
      throw new ConfigError(
        `${SETTINGS.staticShards.env} (${SETTINGS.staticShards.key})`,
        `is for workers without ZooKeeper; ${SETTINGS.zkConnect.env} is set too`,
      );
    }
    const zk = new ZkSession({
      connect: settings.zkConnect,
      sessionTimeoutMs: settings.zkSessionTimeoutMs,
      ...(settings.zkDigest
        ? { digest: settings.zkDigest, aclRoot: clusterPaths(settings.cluster).root }
        : {}),
      logger: logger.child({ component: 'zookeeper' }),
    });
    await zk.connect();
    coordinator = new Coordinator({
      zk,
      paths: clusterPaths(settings.cluster),
      info: {
        id: workerId,
        host: hostname(),
        pid: process.pid,
        startTime: Date.now(),
        version: VERSION,
        httpPort: http.port,
      },
      shards: settings.shards,
      logger,
      onLeadership: () => scheduler.ensureSchedulers(allShards),
    });
    ownership = coordinator;
  } else {
    ownership = new StaticOwnership(parseShardList(settings.staticShards, settings.shards));
    await scheduler.ensureSchedulers(allShards);
  }
  manager = new ShardManager({ ownership, scheduler, recovery, job: flush, metrics, logger });
  const cluster = { manager, coordinator };
  // On stop: no new jobs, the flush in flight finishes (or is abandoned) within the drain bound,
  // its lock is released, and only then the member node goes (the leader reassigns at once).
  lifecycle.onStop('cluster', async () => {
    await cluster.manager.stop();
    await cluster.coordinator?.stop();
  });
  await coordinator?.start();
  await manager.start();

  // Redis restarted (new run_id) → its buffer may be empty: recover the owned shards at once.
  let runId = await redisRunId(redis);
  const background: NodeJS.Timeout[] = [];
  const every = (ms: number, what: string, fn: () => Promise<void>) => {
    let busy = false;
    const timer = setInterval(async () => {
      if (busy || lifecycle.state !== 'running') return;
      busy = true;
      try {
        await fn();
      } catch (error) {
        logger.warn({ err: error, task: what }, 'background task failed');
      } finally {
        busy = false;
      }
    }, ms);
    timer.unref();
    background.push(timer);
  };
  every(2000, 'redis-restart-watch', async () => {
    const current = await redisRunId(redis);
    if (current === runId) return;
    logger.warn(
      { previous: runId, current },
      'Redis restarted: recovering the buffer and the flush schedules',
    );
    runId = current;
    // Without persistence the BullMQ schedulers went with the data: make them again for our shards.
    await scheduler.ensureSchedulers(cluster.manager.owned());
    const r = await recovery.recoverShards(cluster.manager.owned());
    metrics.recovered.inc(r.rebuffered);
  });
  if (settings.recoveryIntervalMs > 0) {
    every(settings.recoveryIntervalMs, 'recovery-sweep', async () => {
      const r = await recovery.recoverShards(cluster.manager.owned());
      metrics.recovered.inc(r.rebuffered);
    });
  }
  every(5000, 'buffer-gauges', async () => {
    const now = Date.now();
    for (const s of await buffer.stats(cluster.manager.owned())) {
      metrics.pending.set({ shard: shardLabel(s.shard) }, s.pending);
      metrics.oldestAge.set(
        { shard: shardLabel(s.shard) },
        s.oldestBufferedAt === null ? 0 : (now - s.oldestBufferedAt) / 1000,
      );
    }
  });
  every(30_000, 'backup-maintenance', async () => {
    metrics.backupUnsynced.set(await backup.countUnsynced());
    await backup.purgeSettled(settings.backupRetentionMs);
  });
  lifecycle.onStop('background', () => {
    for (const timer of background) clearInterval(timer);
  });

  lifecycle.running();
  logger.info(
    {
      workerId,
      httpPort: http.port,
      owned: manager.owned(),
      coordination: coordinator ? 'zookeeper' : 'static',
      es: es.serverVersion,
    },
    'worker running',
  );
  return { lifecycle, httpPort: http.port, workerId, stop: () => lifecycle.stop(0) };
}
