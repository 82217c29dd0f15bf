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
