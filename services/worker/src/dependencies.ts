// What the worker connects to and builds on those connections, opened in order and each registering
// its close with the lifecycle (closed in reverse): the metadata MySQL (migrated), Redis for the
// buffer and locks, Redis for the BullMQ queues, Elasticsearch, and the source MySQL when set.
import {
  BackupRepository,
  CheckReportRepository,
  DeadLetterRepository,
  ReindexJobRepository,
  SyncMonitorRepository,
  TableResetRepository,
} from '@sluice/backup';
import type { RedisBuffer } from '@sluice/buffer';
import { MysqlSourceRows } from '@sluice/checker';
import { esIndexDefaults, loadMapping, type SettingValues } from '@sluice/config';
import type { Mapping } from '@sluice/core';
import type { Resync } from '@sluice/resync';
import type { FlushMetrics, Lifecycle, Logger } from '@sluice/runtime';
import { type EsApi, IndexManager } from '@sluice/sink';
import { bufferOn, openBufferRedis, openEs, openMetadata, openSourceMysql, resyncOn } from '@sluice/wiring';
import type { Cluster, Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { FlushRunner } from './flush-runner.ts';
import type { WorkerOptions } from './options.ts';
import { TableResets } from './table-resets.ts';

export interface WorkerDependencies {
  mapping: Mapping;
  /** The source MySQL and what needs it (TRUNCATE sweeps, the nightly check and its repair). */
  source: { pool: Pool; resync: Resync } | undefined;
  reports: CheckReportRepository;
  /** The metadata MySQL (backup, progress, dead letters, reports). */
  metadata: Pool;
  /** sync_monitor: a row per flush batch. */
  monitor: SyncMonitorRepository;
  redis: Redis | Cluster;
  queueRedis: Redis | Cluster;
  es: EsApi;
  buffer: RedisBuffer;
  backup: BackupRepository;
  runner: FlushRunner;
}

export async function openWorkerDependencies(
  settings: SettingValues,
  options: WorkerOptions,
  lifecycle: Lifecycle,
  metrics: FlushMetrics,
  logger: Logger,
): Promise<WorkerDependencies> {
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);
  const pool = await openMetadata(settings, lifecycle, logger);
  const redis = await openBufferRedis(settings, lifecycle, { name: 'worker', writes: true, logger });
  const queueRedis = await openBufferRedis(settings, lifecycle, {
    name: 'worker-queues',
    queues: true,
    logger,
  });
  const es = await openEs(settings, lifecycle);
  const source = await openSourceMysql(settings, lifecycle);

  const buffer = bufferOn(redis, settings);
  const backup = new BackupRepository(pool);
  const deadLetters = new DeadLetterRepository(pool);
  // TRUNCATE / DROP TABLE need to know which rows are gone: only with the source MySQL.
  const resets = source
    ? new TableResets(
        {
          resets: new TableResetRepository(pool),
          rows: new MysqlSourceRows(source),
          es,
          mapping,
          deadLetters,
          metrics,
          logger,
        },
        { shards: options.shards, bulkMaxBytes: options.flush.bulkMaxBytes },
      )
    : undefined;
  const monitor = new SyncMonitorRepository(pool);
  const runner = new FlushRunner(
    {
      buffer,
      backup,
      deadLetters,
      monitor,
      es,
      indices: new IndexManager(es, esIndexDefaults(settings)),
      mapping,
      metrics,
      logger,
      ...(resets ? { resets } : {}),
      rebuilding: new ReindexJobRepository(pool),
    },
    options.flush,
  );
  const resync = source
    ? resyncOn(settings, { source, metadata: pool, buffer, es, mapping }, lifecycle, logger)
    : undefined;
  return {
    mapping,
    source: source && resync ? { pool: source, resync } : undefined,
    reports: new CheckReportRepository(pool),
    metadata: pool,
    monitor,
    redis,
    queueRedis,
    es,
    buffer,
    backup,
    runner,
  };
}
