// The ingest service, wired: settings → options (options.ts) → connections, each checked and closing
// itself (metadata MySQL migrated, Redis, Elasticsearch) → the runner (runner.ts) → the Kafka consumer
// → background tasks (backpressure, lag) → HTTP → running. On stop, the reverse.
import { BackupRepository, DeadLetterRepository } from '@sluice/backup';
import { esIndexDefaults, loadMapping, type SettingValues } from '@sluice/config';
import {
  createRegistry,
  DependencyProbes,
  ingestMetrics,
  Lifecycle,
  type Logger,
  Periodic,
  startHttp,
} from '@sluice/runtime';
import { fieldCapabilities, TableSchemas } from '@sluice/sink';
import { KafkaSource, type KafkaSourceOptions } from '@sluice/source';
import { bufferOn, openBufferRedis, openEs, openMetadata } from '@sluice/wiring';
import { watermarkAction } from './backpressure.ts';
import { compileIngestOptions } from './options.ts';
import { IngestRunner } from './runner.ts';

export interface IngestHandle {
  lifecycle: Lifecycle;
  httpPort: number;
  stop(): Promise<void>;
}

export async function startIngest(settings: SettingValues, logger: Logger): Promise<IngestHandle> {
  const options = compileIngestOptions(settings);
  const lifecycle = new Lifecycle({ logger, forceExitMs: options.forceExitMs });
  const registry = createRegistry('ingest');
  const metrics = ingestMetrics(registry);
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);

  const pool = await openMetadata(settings, lifecycle, logger);
  const redis = await openBufferRedis(settings, lifecycle, { name: 'ingest', writes: true, logger });
  const buffer = bufferOn(redis, settings);
  // Ingest puts each table's index mappings, derived from its column types, before buffering its rows.
  const es = await openEs(settings, lifecycle);
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
    options.runner,
  );

  const source = new KafkaSource({
    ...(options.kafka as Pick<KafkaSourceOptions, 'ssl' | 'sasl'> & typeof options.kafka),
    logger,
    onRebalance: () => runner.resetPartitionState(),
  });
  await source.connect();

  const periodic = new Periodic({ logger });
  lifecycle.onStop('background', () => periodic.stop());
  // Readiness follows the dependencies: Redis and the metadata MySQL are checked here; Kafka is
  // reported by the lag task, which asks the brokers every round anyway.
  const probes = new DependencyProbes(
    { redis: () => redis.ping(), 'metadata MySQL': () => pool.query('SELECT 1') },
    { timeoutMs: options.probes.timeoutMs },
  );
  periodic.every(options.probes.intervalMs, 'dependency-probes', () => probes.runOnce());
  const setPaused = (paused: boolean) => {
    if (paused) source.pause();
    else source.resume();
    metrics.paused.set(paused ? 1 : 0);
  };
  let pending = 0;
  periodic.every(options.watermarks.checkMs, 'watermark', async () => {
    pending = await buffer.totalPending();
    const action = watermarkAction(source.isPaused(), pending, options.watermarks);
    if (action === 'pause') {
      setPaused(true);
      logger.warn(
        { pending, high: options.watermarks.high },
        'buffer above the high watermark: pausing Kafka',
      );
    } else if (action === 'resume') {
      setPaused(false);
      logger.info({ pending, low: options.watermarks.low }, 'buffer below the low watermark: resuming Kafka');
    }
  });
  /** Messages behind the ends of the partitions this replica holds; null until first measured (not 0:
   * unknown is not caught up). */
  let lagTotal: number | null = null;
  let lagShown = new Set<string>();
  periodic.every(options.lagCheckMs, 'lag', async () => {
    const lags = await source.lag().catch((error: unknown) => {
      logger.debug({ err: error }, 'consumer lag not available');
      probes.report('kafka', error);
      return undefined;
    });
    if (!lags) return;
    probes.report('kafka');
    let total = 0;
    const shown = new Set<string>();
    for (const { topic, partition, lag } of lags) {
      metrics.lag.set({ topic, partition: String(partition) }, lag);
      shown.add(`${topic}\u0000${partition}`);
      total += lag;
    }
    // Partitions the group moved to another member: that member reports them now.
    for (const key of lagShown) {
      if (shown.has(key)) continue;
      const [topic, partition] = key.split('\u0000') as [string, string];
      metrics.lag.remove({ topic, partition });
    }
    lagShown = shown;
    lagTotal = total;
  });

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
    options.http.host,
    options.http.port,
    registry,
    {
      live: () => lifecycle.state !== 'failed',
      ready: () => {
        const reasons: string[] = [];
        if (lifecycle.state !== 'running') reasons.push(`state ${lifecycle.state}`);
        if (!source.hasJoined()) reasons.push('not yet in the consumer group');
        reasons.push(...probes.reasons());
        return { ready: reasons.length === 0, reasons };
      },
      status: () => ({
        service: 'ingest',
        state: lifecycle.state,
        paused: source.isPaused(),
        pending,
        lag: lagTotal,
        inFlight,
        topics: options.kafka.topics,
        group: options.kafka.groupId,
      }),
    },
    {
      token: options.http.adminToken,
      actions: {
        pause: async () => {
          setPaused(true);
          return { paused: true };
        },
        resume: async () => {
          setPaused(false);
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
      topics: options.kafka.topics,
      group: options.kafka.groupId,
      shards: settings.shards,
    },
    'ingest running',
  );
  return { lifecycle, httpPort: http.port, stop: () => lifecycle.stop(0) };
}
