// The ingest service's options step: public settings (valid each and together, config/load.ts) →
// the ingest's own fully required options, derived once.
import { type KafkaSecurity, kafkaSecurity, requiredSetting, type SettingValues } from '@sluice/config';
import type { IngestSettings } from './runner.ts';

export const INGEST_HTTP_PORT = 9401;

export interface IngestOptions {
  runner: IngestSettings;
  kafka: KafkaSecurity & {
    brokers: string[];
    clientId: string;
    groupId: string;
    sessionTimeoutMs: number;
    topics: string[];
    fromBeginning: boolean;
    concurrency: number;
    maxBatchMessages: number;
  };
  /** The redis-stream source (SLUICE_SOURCE=redis-stream; docs/redis-stream.md), else undefined. */
  streams:
    | {
        layout: { prefix: string; cluster: string; partitions: number };
        group: string;
        fromBeginning: boolean;
        maxBatchMessages: number;
      }
    | undefined;
  /** Backpressure: pause every partition at `high` pending records, resume at `low`. */
  watermarks: { high: number; low: number; checkMs: number };
  lagCheckMs: number;
  /** Dependency checks for readiness: every `intervalMs`, each failing after `timeoutMs`. */
  probes: { intervalMs: number; timeoutMs: number };
  http: { host: string; port: number; adminToken: string | undefined };
  forceExitMs: number;
}

/** The database named in the metadata URL. */
export function metaDatabase(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

export function compileIngestOptions(settings: SettingValues): IngestOptions {
  return {
    runner: {
      shards: settings.shards,
      generation: settings.sourceGeneration,
      maxRowBytes: settings.maxRowBytes,
      timeZone: settings.sourceTimeZone,
      applyResets: settings.sourceMysqlUrl !== undefined,
      skipDatabases: [metaDatabase(requiredSetting(settings, 'metaMysqlUrl', 'ingest'))],
    },
    kafka: {
      ...kafkaSecurity(settings),
      brokers:
        settings.sourceKind === 'kafka'
          ? requiredSetting(settings, 'kafkaBrokers', 'ingest with SLUICE_SOURCE=kafka')
          : [],
      clientId: `${settings.kafkaClientId}-ingest`,
      groupId: settings.kafkaGroup,
      sessionTimeoutMs: settings.kafkaSessionTimeoutMs,
      topics: settings.kafkaTopics,
      fromBeginning: settings.kafkaFromBeginning,
      concurrency: settings.parallelism,
      maxBatchMessages: 10_000,
    },
    streams:
      settings.sourceKind === 'redis-stream'
        ? {
            layout: {
              prefix: settings.redisPrefix,
              cluster: settings.cluster,
              partitions: settings.streamPartitions,
            },
            group: settings.streamGroup,
            fromBeginning: settings.streamFromBeginning,
            maxBatchMessages: 10_000,
          }
        : undefined,
    watermarks: { high: settings.highWatermark, low: settings.lowWatermark, checkMs: 1000 },
    lagCheckMs: 5000,
    probes: { intervalMs: 5000, timeoutMs: 2000 },
    http: {
      host: settings.httpHost,
      port: settings.httpPort ?? INGEST_HTTP_PORT,
      adminToken: settings.adminToken,
    },
    forceExitMs: settings.drainTimeoutMs + 5000,
  };
}
