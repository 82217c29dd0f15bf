// The re-sync (backfill, repair) and the Kafka end offsets its versions are taken from.
import { BackupRepository, type Pool, ResyncJobRepository } from '@sluice/backup';
import type { RedisBuffer } from '@sluice/buffer';
import { redisClient } from '@sluice/buffer';
import { kafkaSecurity, redisSecurity, requiredSetting, type SettingValues } from '@sluice/config';
import type { Mapping } from '@sluice/core';
import { Resync } from '@sluice/resync';
import type { Logger } from '@sluice/runtime';
import type { EsApi } from '@sluice/sink';
import { KafkaPartitionEnds, type KafkaSourceOptions, StreamEnds } from '@sluice/source';
import type { Closers } from './closers.ts';
import { streamRedisCluster, streamRedisUrl } from './redis.ts';

/** Kafka's end offsets (re-sync versions), on one admin connection closed with the others. */
export function partitionEnds(settings: SettingValues, closers: Closers, logger: Logger): KafkaPartitionEnds {
  const ends = new KafkaPartitionEnds({
    ...(kafkaSecurity(settings) as Pick<KafkaSourceOptions, 'ssl' | 'sasl'>),
    brokers: requiredSetting(
      settings,
      'kafkaBrokers',
      're-syncs, whose versions come from the Kafka end offsets',
    ),
    clientId: `${settings.kafkaClientId}-resync`,
    logger,
  });
  closers.onStop('kafka-admin', () => ends.close());
  return ends;
}

/**
 * The ends a re-sync's versions come from: Kafka's partitions, or with SLUICE_SOURCE=redis-stream the
 * streams (their Redis connected on first use, closed with the others), with the topics to ask.
 */
export function sourceEnds(
  settings: SettingValues,
  closers: Closers,
  logger: Logger,
): { ends: KafkaPartitionEnds | StreamEnds; topics: string[] } {
  if (settings.sourceKind !== 'redis-stream')
    return { ends: partitionEnds(settings, closers, logger), topics: settings.kafkaTopics };
  const redis = redisClient(streamRedisUrl(settings), {
    ...redisSecurity(settings),
    connectionName: 'sluice-resync',
    cluster: streamRedisCluster(settings),
  });
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'stream Redis connection error'));
  closers.onStop('stream-redis', () => {
    redis.disconnect();
  });
  const ends = new StreamEnds(redis, {
    prefix: settings.redisPrefix,
    cluster: settings.cluster,
    partitions: settings.streamPartitions,
  });
  return { ends, topics: ends.topics() };
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
  const ends = sourceEnds(settings, closers, logger);
  return new Resync(
    {
      source: parts.source,
      mapping: parts.mapping,
      buffer: parts.buffer,
      backup,
      ends: ends.ends,
      places: backup,
      checkpoints: new ResyncJobRepository(parts.metadata),
      es: parts.es,
      logger,
    },
    {
      shards: settings.shards,
      generation: settings.sourceGeneration,
      topics: ends.topics,
      chunkRows: settings.resyncChunkRows,
      ratePerSecond: settings.resyncMaxRowsPerSecond,
      highWatermark: settings.highWatermark,
    },
  );
}
