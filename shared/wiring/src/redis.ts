// Redis: a connection for a purpose (buffer writes, BullMQ queues), and the buffer on it.
import { checkNoEviction, openRedis, RedisBuffer, type RedisLike } from '@sluice/buffer';
import { redisSecurity, type SettingValues } from '@sluice/config';
import type { Logger } from '@sluice/runtime';
import type { Closers } from './closers.ts';

export interface RedisPurpose {
  /** Shown in CLIENT LIST: "sluice-<name>". */
  name: string;
  /** BullMQ's connections: commands wait for a reconnect instead of failing. */
  queues?: boolean;
  /** The process writes the buffer: refuse a Redis that may evict keys (unless allowed by setting). */
  writes?: boolean;
  logger?: Logger;
}

export async function openBufferRedis(
  settings: SettingValues,
  closers: Closers,
  purpose: RedisPurpose,
): Promise<RedisLike> {
  const { logger } = purpose;
  const redis = await openRedis(settings.redisUrl, {
    ...redisSecurity(settings),
    cluster: settings.redisCluster,
    connectionName: `sluice-${purpose.name}`,
    ...(purpose.queues ? { maxRetriesPerRequest: null } : {}),
    ...(logger ? { onError: (error: Error) => logger.warn({ err: error }, 'redis connection error') } : {}),
  });
  closers.onStop(purpose.queues ? 'redis-queues' : 'redis', async () => {
    await redis.quit();
  });
  if (purpose.writes) {
    await checkNoEviction(redis, settings.redisUrl, settings.redisAllowEviction, (m) =>
      (logger ?? console).warn(m),
    );
  }
  return redis;
}

/** The buffer of this cluster on a connection: the one place its layout and retry settings are given. */
export function bufferOn(redis: RedisLike, settings: SettingValues): RedisBuffer {
  return new RedisBuffer(redis, {
    prefix: settings.redisPrefix,
    cluster: settings.cluster,
    shards: settings.shards,
    retryMaxMs: settings.retryBackoffMaxMs,
  });
}

/**
 * The Redis of the streams (SLUICE_STREAM_REDIS_URL, else the buffer's): the relay writes it, the
 * redis-stream source reads it. A writer refuses a Redis that may evict keys, as for the buffer.
 */
export async function openStreamRedis(
  settings: SettingValues,
  closers: Closers,
  purpose: RedisPurpose,
): Promise<RedisLike> {
  return openBufferRedis(
    { ...settings, redisUrl: streamRedisUrl(settings), redisCluster: streamRedisCluster(settings) },
    closers,
    purpose,
  );
}

export function streamRedisUrl(settings: SettingValues): string {
  return settings.streamRedisUrl ?? settings.redisUrl;
}

/** Whether the streams' Redis is a cluster: said, else the buffer's Redis when it is the same. */
export function streamRedisCluster(settings: SettingValues): boolean {
  return (
    settings.streamRedisCluster ?? (settings.streamRedisUrl === undefined ? settings.redisCluster : false)
  );
}

/**
 * Where the row caches of applications live (shared/cache's layout): in the buffer's Redis, under
 * the cluster's prefix. Ingest invalidates there; `sluice serve` and `sluice check --cache` read there.
 */
export function cacheLayoutOf(settings: SettingValues): { prefix: string } {
  return { prefix: `${settings.redisPrefix}:${settings.cluster}` };
}
