// Redis connections for Sluice: one place for the options, and a start-up check that names the
// address when Redis cannot be reached.
import { DependencyError } from '@sluice/core';
import { Redis, type RedisOptions } from 'ioredis';

export function describeRedis(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

export interface RedisConnectOptions {
  /** BullMQ's blocking connections need null; everything else fails a command after a few retries. */
  maxRetriesPerRequest?: number | null;
  connectionName?: string;
  caCert?: string;
  /** Connection errors after start (ioredis reconnects by itself); default: ignored. */
  onError?: (error: Error) => void;
}

export function redisOptions(options: RedisConnectOptions = {}): RedisOptions {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 3 : options.maxRetriesPerRequest,
    enableReadyCheck: true,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(200 * times, 3000),
    ...(options.connectionName ? { connectionName: options.connectionName } : {}),
    ...(options.caCert ? { tls: { ca: options.caCert } } : {}),
  };
}

/** Connects and pings; throws a DependencyError with the address (never the password) on failure. */
export async function openRedis(url: string, options: RedisConnectOptions = {}): Promise<Redis> {
  const redis = new Redis(url, redisOptions(options));
  redis.on('error', options.onError ?? (() => undefined));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new DependencyError('Redis', describeRedis(url), error);
  }
  return redis;
}

/**
 * The buffer holds changes not yet in Elasticsearch, without a TTL, and BullMQ keeps its locks in
 * Redis: a Redis that evicts keys under memory pressure would drop them silently. Refuses any
 * maxmemory-policy but noeviction unless the operator accepts the risk. Returns the policy, or
 * undefined when Redis does not let us read it (managed services may deny CONFIG).
 */
export async function checkNoEviction(
  redis: Redis,
  url: string,
  allowEviction: boolean,
  warn: (message: string) => void,
): Promise<string | undefined> {
  let reply: unknown;
  try {
    reply = await redis.config('GET', 'maxmemory-policy');
  } catch {
    // handled below, as an unreadable policy
  }
  const policy = Array.isArray(reply) ? String(reply[1] ?? '') : '';
  if (policy === '') {
    warn('cannot read the Redis maxmemory-policy (CONFIG GET denied?): it must be noeviction');
    return undefined;
  }
  if (policy === 'noeviction') return policy;
  if (!allowEviction) {
    throw new DependencyError(
      'Redis',
      describeRedis(url),
      new Error(
        `maxmemory-policy is ${policy}, so Redis may evict buffered changes that are not yet in Elasticsearch; set maxmemory-policy noeviction (or SLUICE_REDIS_ALLOW_EVICTION=true to accept the risk)`,
      ),
      'is unsafe',
    );
  }
  warn(
    `Redis maxmemory-policy is ${policy}: buffered changes may be evicted (allowed by SLUICE_REDIS_ALLOW_EVICTION)`,
  );
  return policy;
}

/** Redis's run_id changes when the server restarts; without persistence that means an empty buffer. */
export async function redisRunId(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  const match = /run_id:([0-9a-f]+)/.exec(info);
  if (!match?.[1]) throw new Error('INFO server has no run_id');
  return match[1];
}
