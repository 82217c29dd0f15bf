// The worker's options step: public settings (already valid each and together, config/load.ts) →
// the worker's own fully required options. Everything the worker derives from its settings is
// derived here, once: its identity, how it learns which shards it owns, its keys and its bounds.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { shardLockKey } from '@sluice/buffer';
import { type SettingValues, settingLabel } from '@sluice/config';
import { ConfigError } from '@sluice/core';
import type { FlushSettings } from './flush-runner.ts';
import type { SchedulerOptions } from './scheduler.ts';
import { parseShardList } from './shards.ts';

export const WORKER_HTTP_PORT = 9402;

export type Coordination =
  | { kind: 'zookeeper'; connect: string }
  /** No ZooKeeper: a fixed list of shards (SLUICE_STATIC_SHARDS), schedules made at start. */
  | { kind: 'static'; shards: number[] };

export interface WorkerOptions {
  workerId: string;
  shards: number;
  allShards: number[];
  coordination: Coordination;
  flush: FlushSettings;
  scheduler: Omit<SchedulerOptions, 'logger'>;
  lock: { keyOf: (shard: number) => string; ttlMs: number };
  http: { host: string; port: number; adminToken: string | undefined };
  /** The nightly check: its cron pattern (undefined: off), and whether it repairs what it finds. */
  check: { pattern: string | undefined; repair: boolean; recheckAfterMs: number };
  /** How long a stop may take in all before the process exits anyway. */
  forceExitMs: number;
  /** Dependency checks for readiness: every `intervalMs`, each failing after `timeoutMs`. */
  probes: { intervalMs: number; timeoutMs: number };
  maintenance: {
    redisRestartCheckMs: number;
    /** 0: no periodic recovery sweep. */
    recoveryIntervalMs: number;
    gaugesMs: number;
    checkGaugesMs: number;
    backupMaintenanceMs: number;
    backupRetentionMs: number;
    /** 0: sync_monitor rows are kept. */
    syncMonitorRetentionMs: number;
  };
}

/** BullMQ's key prefix; each queue's name carries its own hash tag (scheduler.ts). */
export function bullPrefix(settings: Pick<SettingValues, 'redisPrefix' | 'cluster'>): string {
  return `${settings.redisPrefix}:${settings.cluster}:bull`;
}

export function compileWorkerOptions(settings: SettingValues, workerId = newWorkerId()): WorkerOptions {
  let coordination: Coordination;
  if (settings.zkConnect) coordination = { kind: 'zookeeper', connect: settings.zkConnect };
  else {
    try {
      coordination = { kind: 'static', shards: parseShardList(settings.staticShards, settings.shards) };
    } catch (error) {
      throw new ConfigError(settingLabel('staticShards'), (error as Error).message);
    }
  }
  return {
    workerId,
    shards: settings.shards,
    allShards: Array.from({ length: settings.shards }, (_, i) => i),
    coordination,
    flush: {
      workerId,
      batchSize: settings.batchSize,
      bulkConcurrency: settings.flushConcurrency,
      windowMs: settings.windowMs,
      maxRetry: settings.maxRetry,
      bulkMaxBytes: settings.esBulkMaxBytes,
    },
    scheduler: {
      prefix: bullPrefix(settings),
      cluster: settings.cluster,
      windowMs: settings.windowMs,
      drainTimeoutMs: settings.drainTimeoutMs,
    },
    lock: {
      keyOf: (shard) => shardLockKey(settings.redisPrefix, settings.cluster, shard),
      ttlMs: settings.lockTtlMs,
    },
    http: {
      host: settings.httpHost,
      port: settings.httpPort ?? WORKER_HTTP_PORT,
      adminToken: settings.adminToken,
    },
    check: {
      pattern:
        settings.checkSchedule === '' || settings.checkSchedule === 'off'
          ? undefined
          : settings.checkSchedule,
      repair: settings.checkRepair,
      recheckAfterMs: 2 * settings.windowMs + 1000,
    },
    forceExitMs: settings.drainTimeoutMs + 10_000,
    probes: { intervalMs: 5000, timeoutMs: 2000 },
    maintenance: {
      redisRestartCheckMs: 2000,
      recoveryIntervalMs: settings.recoveryIntervalMs,
      gaugesMs: 5000,
      checkGaugesMs: 30_000,
      backupMaintenanceMs: 30_000,
      backupRetentionMs: settings.backupRetentionMs,
      syncMonitorRetentionMs: settings.syncMonitorRetentionMs,
    },
  };
}

/** "<host>:<pid>:<4 hex>": unique per process, readable in ZooKeeper and in the logs. */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(2).toString('hex')}`;
}
