// Redis connections for Sluice: one place for the options, and a start-up check that names the
// address when Redis cannot be reached. A Redis Cluster (SLUICE_REDIS_CLUSTER) is given as a
// comma-separated list of seed URLs; every key a script touches carries one hash tag (the shard's,
// the table's, the stream's), so the same code runs on one Redis and on a cluster.
import { DependencyError } from '@sluice/core';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisLike } from './scripts.ts';

/** The URLs of a setting: one, or a comma-separated list of a cluster's seed nodes. */
export function redisTargets(url: string): string[] {
  return url
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

export function describeRedis(url: string): string {
  return redisTargets(url)
    .map((one) => {
      const parsed = new URL(one);
      return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
    })
    .join(',');
}

export interface RedisConnectOptions {
  /** BullMQ's blocking connections need null; everything else fails a command after a few retries. */
  maxRetriesPerRequest?: number | null;
  connectionName?: string;
  caCert?: string;
  /** A Redis Cluster: the URL lists seed nodes (one is enough; the others are found by CLUSTER SLOTS). */
  cluster?: boolean;
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

/**
 * A cluster's options: the seed URLs' credentials and TLS go to every node's connection (nodes
 * found later are given as bare host:port by CLUSTER SLOTS). A command that meets a failover
 * (CLUSTERDOWN, a moved slot, a node that went away) is retried by ioredis after a short delay.
 */
export function clusterOptions(url: string, options: RedisConnectOptions = {}): ClusterOptions {
  const first = new URL(redisTargets(url)[0] ?? url);
  const base = redisOptions(options);
  const tls =
    first.protocol === 'rediss:' ? { tls: { ...(options.caCert ? { ca: options.caCert } : {}) } } : {};
  return {
    lazyConnect: true,
    enableReadyCheck: true,
    maxRedirections: 32,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 300,
    retryDelayOnTryAgain: 200,
    slotsRefreshTimeout: 2000,
    clusterRetryStrategy: (times) => Math.min(200 * times, 3000),
    redisOptions: {
      ...base,
      ...(first.username ? { username: decodeURIComponent(first.username) } : {}),
      ...(first.password ? { password: decodeURIComponent(first.password) } : {}),
      ...tls,
    },
  };
}

/** A client, not yet connected: a Redis, or a Cluster when `options.cluster`. */
export function redisClient(url: string, options: RedisConnectOptions = {}): RedisLike {
  const targets = redisTargets(url);
  if (options.cluster) {
    const seeds = targets.map((target) => {
      const parsed = new URL(target);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    return new Cluster(seeds, clusterOptions(url, options));
  }
  if (targets.length !== 1) {
    throw new DependencyError(
      'Redis',
      describeRedis(url),
      new Error('several URLs are the seed nodes of a Redis Cluster: set SLUICE_REDIS_CLUSTER=true'),
      'is misconfigured',
    );
  }
  return new Redis(targets[0] as string, redisOptions(options));
}

/** Connects and pings; throws a DependencyError with the address (never the password) on failure. */
export async function openRedis(url: string, options: RedisConnectOptions = {}): Promise<RedisLike> {
  const redis = redisClient(url, options);
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

/** The masters that hold the data: each node of a cluster that serves slots, or the one Redis. */
export function mastersOf(redis: RedisLike): Redis[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis];
}

/**
 * The buffer holds changes not yet in Elasticsearch, without a TTL, and BullMQ keeps its locks in
 * Redis: a Redis that evicts keys under memory pressure would drop them silently. Refuses any
 * maxmemory-policy but noeviction (on any master of a cluster) unless the operator accepts the risk.
 * Returns the policy, or undefined when Redis does not let us read it (managed services may deny
 * CONFIG).
 */
export async function checkNoEviction(
  redis: RedisLike,
  url: string,
  allowEviction: boolean,
  warn: (message: string) => void,
): Promise<string | undefined> {
  const policies = await Promise.all(mastersOf(redis).map(evictionPolicy));
  if (policies.length === 0 || policies.some((policy) => policy === '')) {
    warn('cannot read the Redis maxmemory-policy (CONFIG GET denied?): it must be noeviction');
    return undefined;
  }
  const policy = policies.find((p) => p !== 'noeviction') ?? 'noeviction';
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

async function evictionPolicy(node: Redis): Promise<string> {
  try {
    const reply: unknown = await node.config('GET', 'maxmemory-policy');
    return Array.isArray(reply) ? String(reply[1] ?? '') : '';
  } catch {
    return '';
  }
}

/**
 * Redis's run_id changes when the server restarts; without persistence that means an empty buffer.
 * On a cluster: the run_ids of its masters, sorted. A failover changes it too (the promoted
 * replica has its own run_id), and rightly so: writes the old master acknowledged but had not yet
 * replicated are gone, and only a recovery from the backup table brings them back.
 */
export async function redisRunId(redis: RedisLike): Promise<string> {
  const ids = await Promise.all(
    mastersOf(redis).map(async (node) => {
      const info = await node.info('server');
      const match = /run_id:([0-9a-f]+)/.exec(info);
      if (!match?.[1]) throw new Error('INFO server has no run_id');
      return match[1];
    }),
  );
  if (ids.length === 0) throw new Error('the Redis Cluster has no master');
  return ids.sort().join(',');
}
