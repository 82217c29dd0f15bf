// The status page's sources in one place for every process that serves it (worker, ingest,
// `sluice ui`): presence hashes in Redis, the buffer's per-shard stats, ZooKeeper's members and
// assignment, dead letters and check reports from the metadata MySQL.

import type { Pool } from '@sluice/backup';
import { CheckReportRepository, DeadLetterRepository } from '@sluice/backup';
import type { SettingValues } from '@sluice/config';
import { clusterPaths, type ZkSession } from '@sluice/coord';
import {
  type ClusterSources,
  type IngestPresence,
  Presence,
  type PresenceRole,
  presenceKey,
  type WorkerPresence,
  zookeeperSources,
} from '@sluice/status';
import type { Cluster, Redis } from 'ioredis';
import { bufferOn } from './redis.ts';

/** How often a process rewrites its presence; an entry unwritten for PRESENCE_MAX_AGE_MS is gone. */
export const PRESENCE_INTERVAL_MS = 2000;
export const PRESENCE_MAX_AGE_MS = 4 * PRESENCE_INTERVAL_MS;

function presenceOf<T extends WorkerPresence | IngestPresence>(
  redis: Redis | Cluster,
  settings: Pick<SettingValues, 'redisPrefix' | 'cluster'>,
  role: PresenceRole,
): Presence<T> {
  return new Presence<T>(
    redis,
    presenceKey(`${settings.redisPrefix}:${settings.cluster}`, role),
    PRESENCE_MAX_AGE_MS,
  );
}

export function workerPresence(redis: Redis | Cluster, settings: SettingValues): Presence<WorkerPresence> {
  return presenceOf(redis, settings, 'worker');
}

export function ingestPresence(redis: Redis | Cluster, settings: SettingValues): Presence<IngestPresence> {
  return presenceOf(redis, settings, 'ingest');
}

export interface StatusClients {
  redis: Redis | Cluster;
  metadata: Pool;
  /** Without ZooKeeper (static shard lists) the page has no members or assignment. */
  zk?: ZkSession | undefined;
}

export function clusterSources(settings: SettingValues, clients: StatusClients): ClusterSources {
  const buffer = bufferOn(clients.redis, settings);
  const deadLetters = new DeadLetterRepository(clients.metadata);
  const reports = new CheckReportRepository(clients.metadata);
  const workers = workerPresence(clients.redis, settings);
  const ingest = ingestPresence(clients.redis, settings);
  return {
    cluster: settings.cluster,
    shards: settings.shards,
    ...(clients.zk ? zookeeperSources(clients.zk, clusterPaths(settings.cluster), settings.shards) : {}),
    stats: () => buffer.stats(),
    workers: () => workers.read(),
    ingest: () => ingest.read(),
    deadLetters: () => deadLetters.count(),
    lastCheck: () => reports.lastRun(),
  };
}
