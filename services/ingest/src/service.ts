// Wiring of the ingest service: settings → connections (each checked, with a clear error naming the
// dependency and its address) → migrations → Kafka consumer → HTTP endpoint → signals.
import { BackupRepository, DeadLetterRepository, migrate, openPool } from '@sluice/backup';
import { checkNoEviction, openRedis, RedisBuffer } from '@sluice/buffer';
import {
  esConnection,
  esIndexDefaults,
  kafkaSecurity,
  loadMapping,
  mysqlSecurity,
  redisSecurity,
  type SettingValues,
} from '@sluice/config';
import { createRegistry, ingestMetrics, Lifecycle, type Logger, startHttp } from '@sluice/runtime';
import { fieldCapabilities, openElastic, TableSchemas } from '@sluice/sink';
import { KafkaSource, type KafkaSourceOptions } from '@sluice/source';
import { IngestRunner } from './runner.ts';

/** The database named in the metadata URL. */
export function metaDatabase(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
}

export const INGEST_HTTP_PORT = 9401;

export interface IngestHandle {
  lifecycle: Lifecycle;
  httpPort: number;
  stop(): Promise<void>;
}

export async function startIngest(settings: SettingValues, logger: Logger): Promise<IngestHandle> {
  const lifecycle = new Lifecycle({ logger, forceExitMs: settings.drainTimeoutMs + 5000 });
  const registry = createRegistry('ingest');
  const metrics = ingestMetrics(registry);
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);

  const pool = await openPool(settings.metaMysqlUrl, mysqlSecurity(settings));
  lifecycle.onStop('mysql', () => pool.end());
  const migrated = await migrate(pool);
  if (migrated.applied.length > 0) logger.info({ applied: migrated.applied }, 'metadata schema migrated');

  const redis = await openRedis(settings.redisUrl, {
    ...redisSecurity(settings),
    connectionName: 'sluice-ingest',
    onError: (error) => logger.warn({ err: error }, 'redis connection error'),
  });
  await checkNoEviction(redis, settings.redisUrl, settings.redisAllowEviction, (m) => logger.warn(m));
  lifecycle.onStop('redis', async () => {
    await redis.quit();
  });
  const buffer = new RedisBuffer(redis, {
    prefix: settings.redisPrefix,
    cluster: settings.cluster,
    shards: settings.shards,
  });

  // Ingest puts each table's index mappings, derived from its column types, before buffering its rows.
  const es = await openElastic(esConnection(settings));
  lifecycle.onStop('elasticsearch', () => es.close());
  const schemas = new TableSchemas(es, esIndexDefaults(settings), await fieldCapabilities(es));

  const runner = new IngestRunner(
    {
      buffer,
      schemas,
      backup: new BackupRepository(pool),
      deadLetters: new DeadLetterRepository(pool),
      mapping,
      metrics,
      logger,
    },
    {
      shards: settings.shards,
      generation: settings.sourceGeneration,
      maxRowBytes: settings.maxRowBytes,
      timeZone: settings.sourceTimeZone,
      applyResets: settings.sourceMysqlUrl !== undefined,
      skipDatabases: [metaDatabase(settings.metaMysqlUrl)],
    },
  );

  const source = new KafkaSource({
    ...(kafkaSecurity(settings) as Pick<KafkaSourceOptions, 'ssl' | 'sasl'>),
    brokers: settings.kafkaBrokers,
    clientId: `${settings.kafkaClientId}-ingest`,
    groupId: settings.kafkaGroup,
    sessionTimeoutMs: settings.kafkaSessionTimeoutMs,
    topics: settings.kafkaTopics,
    fromBeginning: settings.kafkaFromBeginning,
    concurrency: settings.parallelism,
    maxBatchMessages: 10000,
    logger,
    onRebalance: () => runner.resetPartitionState(),
  });
  await source.connect();

  // Backpressure: pause every partition above the high watermark, resume below the low one.
  let pending = 0;
  const watermark = setInterval(async () => {
    try {
      pending = await buffer.totalPending();
      if (!source.isPaused() && pending >= settings.highWatermark) {
        source.pause();
        metrics.paused.set(1);
        logger.warn(
          { pending, high: settings.highWatermark },
          'buffer above the high watermark: pausing Kafka',
        );
      } else if (source.isPaused() && pending <= settings.lowWatermark) {
        source.resume();
        metrics.paused.set(0);
        logger.info(
          { pending, low: settings.lowWatermark },
          'buffer below the low watermark: resuming Kafka',
        );
      }
    } catch (error) {
      logger.warn({ err: error }, 'watermark check failed');
    }
  }, 1000);
  watermark.unref();
  lifecycle.onStop('watermark', () => clearInterval(watermark));
  /** Messages behind the partitions' ends; null until first measured (not 0: unknown is not caught up). */
  let lagTotal: number | null = null;
  const lagTimer = setInterval(async () => {
    try {
      let total = 0;
      for (const { topic, partition, lag } of await source.lag()) {
        metrics.lag.set({ topic, partition: String(partition) }, lag);
        total += lag;
      }
      lagTotal = total;
    } catch (error) {
      logger.debug({ err: error }, 'consumer lag not available');
    }
  }, 5000);
  lagTimer.unref();
  lifecycle.onStop('lag', () => clearInterval(lagTimer));

  let inFlight = 0;
  await source.run(async (batch) => {
    inFlight++;
    try {
      await runner.process(batch);
    } finally {
      inFlight--;
    }
  });
  lifecycle.onStop('kafka', () => source.stop());

  const http = await startHttp(
    settings.httpHost,
    settings.httpPort ?? INGEST_HTTP_PORT,
    registry,
    {
      live: () => lifecycle.state !== 'failed',
      ready: () => {
        const reasons: string[] = [];
        if (lifecycle.state !== 'running') reasons.push(`state ${lifecycle.state}`);
        if (!source.hasJoined()) reasons.push('not yet in the consumer group');
        return { ready: reasons.length === 0, reasons };
      },
      status: () => ({
        service: 'ingest',
        state: lifecycle.state,
        paused: source.isPaused(),
        pending,
        lag: lagTotal,
        inFlight,
        topics: settings.kafkaTopics,
        group: settings.kafkaGroup,
      }),
    },
    {
      token: settings.adminToken,
      actions: {
        pause: async () => {
          source.pause();
          metrics.paused.set(1);
          return { paused: true };
        },
        resume: async () => {
          source.resume();
          metrics.paused.set(0);
          return { paused: false };
        },
      },
    },
  );

  lifecycle.onStop('http', () => http.close());
  lifecycle.running();
  logger.info(
    {
      httpPort: http.port,
      topics: settings.kafkaTopics,
      group: settings.kafkaGroup,
      shards: settings.shards,
    },
    'ingest running',
  );
  return { lifecycle, httpPort: http.port, stop: () => lifecycle.stop(0) };
}
