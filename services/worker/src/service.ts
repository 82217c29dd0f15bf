// Wiring of the worker service: settings → connections (each checked) → migrations → index defaults →
// flush runner, shard locks, recovery → per-shard schedulers for the owned shards → HTTP → signals.
import { hostname } from 'node:os';
import {
  BackupRepository,
  DeadLetterRepository,
  migrate,
  openPool,
  SyncMonitorRepository,
} from '@sluice/backup';
import { openRedis, RedisBuffer, shardKeys } from '@sluice/buffer';
import { loadMapping, type SettingValues } from '@sluice/config';
import { FencedError, shardLabel } from '@sluice/core';
import { createRegistry, flushMetrics, Lifecycle, type Logger, startHttp } from '@sluice/runtime';
import { IndexManager, openElastic } from '@sluice/sink';
import { FlushRunner } from './flush-runner.ts';
import { ShardLocks } from './locks.ts';
import { Recovery, redisRunId } from './recovery.ts';
import { FlushScheduler } from './scheduler.ts';
import { parseShardList } from './shards.ts';

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
  const workerId = `${hostname()}:${process.pid}`;
  const lifecycle = new Lifecycle({ logger, forceExitMs: settings.drainTimeoutMs + 10_000 });
  const registry = createRegistry('worker');
  const metrics = flushMetrics(registry);
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);
  const owned = parseShardList(settings.staticShards, settings.shards);

  const pool = await openPool(settings.metaMysqlUrl);
  lifecycle.onStop('mysql', () => pool.end());
  await migrate(pool);
  const backup = new BackupRepository(pool);

  const onRedisError = (error: Error) => logger.warn({ err: error }, 'redis connection error');
  const redis = await openRedis(settings.redisUrl, {
    connectionName: 'sluice-worker',
    onError: onRedisError,
  });
  lifecycle.onStop('redis', async () => {
    await redis.quit();
  });
  const queueRedis = await openRedis(settings.redisUrl, {
    connectionName: 'sluice-worker-queues',
    maxRetriesPerRequest: null,
    onError: onRedisError,
  });
  lifecycle.onStop('redis-queues', async () => {
    await queueRedis.quit();
  });

  const es = await openElastic({
    url: settings.esUrl,
    major: settings.esMajor,
    requestTimeoutMs: settings.esRequestTimeoutMs,
  });
  lifecycle.onStop('elasticsearch', () => es.close());
  const indices = new IndexManager(es, {
    gcDeletes: settings.esGcDeletes,
    replicas: settings.esReplicas,
    shards: 1,
    refreshInterval: '1s',
  });

  const buffer = new RedisBuffer(redis, {
    prefix: settings.redisPrefix,
    cluster: settings.cluster,
    shards: settings.shards,
    retryMaxMs: 30_000,
  });
  const runner = new FlushRunner(
    {
      buffer,
      backup,
      deadLetters: new DeadLetterRepository(pool),
      monitor: new SyncMonitorRepository(pool),
      es,
      indices,
      mapping,
      metrics,
      logger,
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

  const flush = async (shard: number, signal: AbortSignal) => {
    const outcome = await locks
      .withLock(shard, (guard) => runner.flushShard(shard, guard), {
        check: () => {
          if (signal.aborted) throw new FencedError(`shard ${shard} is no longer owned here`);
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
  };

  await scheduler.ensureSchedulers(Array.from({ length: settings.shards }, (_, i) => i));
  const recovered = await recovery.recoverShards(owned);
  if (recovered.rebuffered > 0) metrics.recovered.inc(recovered.rebuffered);
  for (const shard of owned) {
    scheduler.own(shard, flush);
    metrics.owned.set({ shard: shardLabel(shard) }, 1);
  }
  lifecycle.onStop('flush-workers', () => scheduler.releaseAll());

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
    logger.warn({ previous: runId, current }, 'Redis restarted: recovering the buffer from the backup');
    runId = current;
    const r = await recovery.recoverShards(scheduler.owned());
    metrics.recovered.inc(r.rebuffered);
  });
  if (settings.recoveryIntervalMs > 0) {
    every(settings.recoveryIntervalMs, 'recovery-sweep', async () => {
      const r = await recovery.recoverShards(scheduler.owned());
      metrics.recovered.inc(r.rebuffered);
    });
  }
  every(5000, 'buffer-gauges', async () => {
    const now = Date.now();
    for (const s of await buffer.stats(scheduler.owned())) {
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

  const http = await startHttp(settings.httpHost, settings.httpPort ?? WORKER_HTTP_PORT, registry, {
    live: () => lifecycle.state !== 'failed',
    ready: () => {
      const reasons = lifecycle.state === 'running' ? [] : [`state ${lifecycle.state}`];
      return { ready: reasons.length === 0, reasons };
    },
    status: async () => ({
      service: 'worker',
      workerId,
      state: lifecycle.state,
      owned: scheduler.owned(),
      shards: await buffer.stats(scheduler.owned()),
    }),
  });
  lifecycle.onStop('http', () => http.close());
  lifecycle.running();
  logger.info({ workerId, httpPort: http.port, owned, es: es.serverVersion }, 'worker running');
  return { lifecycle, httpPort: http.port, workerId, stop: () => lifecycle.stop(0) };
}
