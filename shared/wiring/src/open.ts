// Every connection a Sluice process opens, from the settings: one function per dependency, so the
// options (security, names, retry ceilings, ACLs) are the same in every process. Each checks the
// dependency at open (a DependencyError names it and its address) and registers its close.
import { BackupRepository, migrate, openPool, type Pool, ResyncJobRepository } from '@sluice/backup';
import { checkNoEviction, openRedis, RedisBuffer } from '@sluice/buffer';
import {
  esConnection,
  kafkaSecurity,
  mysqlSecurity,
  redisSecurity,
  type SettingValues,
} from '@sluice/config';
import { clusterPaths, ZkSession } from '@sluice/coord';
import type { Mapping } from '@sluice/core';
import { Resync } from '@sluice/resync';
import type { Logger } from '@sluice/runtime';
import { type EsApi, openElastic } from '@sluice/sink';
import { KafkaPartitionEnds, type KafkaSourceOptions } from '@sluice/source';
import type { Redis } from 'ioredis';
import type { Closers } from './closers.ts';

/** The metadata database (backup, progress, dead letters, monitor), migrated to the current schema. */
export async function openMetadata(
  settings: SettingValues,
  closers: Closers,
  logger?: Logger,
): Promise<Pool> {
  const pool = await openPool(settings.metaMysqlUrl, mysqlSecurity(settings));
  closers.onStop('mysql', () => pool.end());
  const migrated = await migrate(pool);
  if (migrated.applied.length > 0) logger?.info({ applied: migrated.applied }, 'metadata schema migrated');
  return pool;
}

/**
 * The source MySQL (read-only use: TRUNCATE sweeps, checks), when configured. Every query names its
 * database, so the pool connects to the server: the URL's database may not exist yet.
 */
export async function openSourceMysql(settings: SettingValues, closers: Closers): Promise<Pool | undefined> {
  if (!settings.sourceMysqlUrl) return undefined;
  const pool = await openPool(
    settings.sourceMysqlUrl,
    { ...mysqlSecurity(settings), database: undefined },
    'MySQL (source)',
  );
  closers.onStop('source-mysql', () => pool.end());
  return pool;
}

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
): Promise<Redis> {
  const { logger } = purpose;
  const redis = await openRedis(settings.redisUrl, {
    ...redisSecurity(settings),
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
export function bufferOn(redis: Redis, settings: SettingValues): RedisBuffer {
  return new RedisBuffer(redis, {
    prefix: settings.redisPrefix,
    cluster: settings.cluster,
    shards: settings.shards,
    retryMaxMs: settings.retryBackoffMaxMs,
  });
}

export async function openEs(settings: SettingValues, closers: Closers): Promise<EsApi> {
  const es = await openElastic(esConnection(settings));
  closers.onStop('elasticsearch', () => es.close());
  return es;
}

/** A ZooKeeper session of this cluster (with its ACL root when a digest is set); not yet connected. */
export function zkSession(settings: SettingValues & { zkConnect: string }, logger: Logger): ZkSession {
  return new ZkSession({
    connect: settings.zkConnect,
    sessionTimeoutMs: settings.zkSessionTimeoutMs,
    ...(settings.zkDigest ? { digest: settings.zkDigest, aclRoot: clusterPaths(settings.cluster).root } : {}),
    logger: logger.child({ component: 'zookeeper' }),
  });
}

/** Kafka's end offsets (re-sync versions), on one admin connection closed with the others. */
export function partitionEnds(settings: SettingValues, closers: Closers, logger: Logger): KafkaPartitionEnds {
  const ends = new KafkaPartitionEnds({
    ...(kafkaSecurity(settings) as Pick<KafkaSourceOptions, 'ssl' | 'sasl'>),
    brokers: settings.kafkaBrokers,
    clientId: `${settings.kafkaClientId}-resync`,
    logger,
  });
  closers.onStop('kafka-admin', () => ends.close());
  return ends;
}

/**
 * The re-sync (backfill, repair) on connections a process already has: the one place its parts and
 * settings are put together (the CLI's commands and the worker's nightly repair use it).
 */
export function resyncOn(
  settings: SettingValues,
  parts: { source: Pool; metadata: Pool; buffer: RedisBuffer; es: EsApi; mapping: Mapping },
  closers: Closers,
  logger: Logger,
): Resync {
  const backup = new BackupRepository(parts.metadata);
  return new Resync(
    {
      source: parts.source,
      mapping: parts.mapping,
      buffer: parts.buffer,
      backup,
      ends: partitionEnds(settings, closers, logger),
      places: backup,
      checkpoints: new ResyncJobRepository(parts.metadata),
      es: parts.es,
      logger,
    },
    {
      shards: settings.shards,
      generation: settings.sourceGeneration,
      topics: settings.kafkaTopics,
      chunkRows: settings.resyncChunkRows,
      ratePerSecond: settings.resyncMaxRowsPerSecond,
      highWatermark: settings.highWatermark,
    },
  );
}
