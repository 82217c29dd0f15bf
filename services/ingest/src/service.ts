// The ingest service, wired: settings → options (options.ts) → connections, each checked and closing
// itself (metadata MySQL migrated, Redis, Elasticsearch) → the runner (runner.ts) → the Kafka consumer
// → background tasks (backpressure, lag) → HTTP → running. On stop, the reverse.
import { hostname } from 'node:os';
import { BackupRepository, DeadLetterRepository } from '@sluice/backup';
import { CacheInvalidator } from '@sluice/cache';
import { esIndexDefaults, loadMapping, type SettingValues } from '@sluice/config';
import type { ZkSession } from '@sluice/coord';
import { redactText } from '@sluice/core';
import {
  createRegistry,
  DependencyProbes,
  ingestMetrics,
  Lifecycle,
  type Logger,
  Periodic,
  SLUICE_VERSION,
  serviceHealth,
  startHttp,
} from '@sluice/runtime';
import { fieldCapabilities, TableSchemas } from '@sluice/sink';
import {
  type ChangeSource,
  KafkaSource,
  type KafkaSourceOptions,
  RedisStreamSource,
  type SourceBatch,
} from '@sluice/source';
import { collectClusterStatus, statusPageRoutes } from '@sluice/status';
import {
  bufferOn,
  cacheLayoutOf,
  openBufferRedis,
  openEs,
  openMetadata,
  openStreamRedis,
  zkSession,
} from '@sluice/wiring';
import { clusterSources, ingestPresence, PRESENCE_INTERVAL_MS } from '@sluice/wiring/status';
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

  // The row cache of applications (shared/cache) lives in the buffer's Redis, under the cluster's prefix.
  const invalidator = settings.cacheInvalidation
    ? new CacheInvalidator(redis, cacheLayoutOf(settings))
    : undefined;
  const runner = new IngestRunner(
    {
      ...(invalidator ? { invalidator } : {}),
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

  const onRebalance = () => runner.resetPartitionState();
  // This replica's name: its stream consumer and its presence on the status page.
  const ingestId = `${hostname()}-${process.pid}`;
  const sourceName = options.streams ? 'redis streams' : 'kafka';
  const source: ChangeSource = options.streams
    ? new RedisStreamSource({
        ...options.streams,
        redis: await openStreamRedis(settings, lifecycle, { name: 'ingest-streams', logger }),
        blocking: await openStreamRedis(settings, lifecycle, { name: 'ingest-streams-read', logger }),
        consumer: ingestId,
        logger,
        onRebalance,
      })
    : new KafkaSource({
        ...(options.kafka as Pick<KafkaSourceOptions, 'ssl' | 'sasl'> & typeof options.kafka),
        logger,
        onRebalance,
      });
  await source.connect();

  // What this replica holds and how far behind it is, for the status page (removed when it stops).
  const presence = ingestPresence(redis, settings);
  lifecycle.onStop('presence', () => presence.remove(ingestId).catch(() => undefined));
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
  let lastLags: Array<{ topic: string; partition: number; lag: number }> = [];
  periodic.every(options.lagCheckMs, 'lag', async () => {
    const lags = await source.lag().catch((error: unknown) => {
      logger.debug({ err: error }, 'consumer lag not available');
      probes.report(sourceName, error);
      return undefined;
    });
    if (!lags) return;
    probes.report(sourceName);
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
    lastLags = lags;
  });

  const startTime = Date.now();
  periodic.every(PRESENCE_INTERVAL_MS, 'presence', () =>
    presence.publish({
      id: ingestId,
      host: hostname(),
      version: SLUICE_VERSION,
      startTime,
      at: Date.now(),
      partitions: lastLags,
      paused: source.isPaused(),
    }),
  );
  // The status page shows the whole cluster; ZooKeeper (members, assignment) is opened for it on the
  // first view when SLUICE_ZK_CONNECT is set, and never makes ingest unready.
  let zk: Promise<ZkSession> | undefined;
  const zookeeper = () => {
    if (!settings.zkConnect) return undefined;
    zk ??= (async () => {
      const session = zkSession({ ...settings, zkConnect: settings.zkConnect as string }, logger);
      lifecycle.onStop('zookeeper', () => session.close());
      await session.connect();
      return session;
    })().catch((error: unknown) => {
      zk = undefined;
      throw error;
    });
    return zk;
  };
  const view = async () => {
    const session = await zookeeper()?.catch((error: unknown) => error as Error);
    const sources = clusterSources(settings, {
      redis,
      metadata: pool,
      zk: session instanceof Error ? undefined : session,
    });
    const status = await collectClusterStatus(sources);
    if (session instanceof Error)
      status.errors.push({ part: 'members', message: redactText(session.message) });
    return status;
  };

  let inFlight = 0;
  const counted = async <T>(write: () => Promise<T>): Promise<T> => {
    inFlight++;
    try {
      return await write();
    } finally {
      inFlight--;
    }
  };
  // A source that can prepares a partition's next batch while the previous one is written.
  const handler = Object.assign(
    (batch: SourceBatch) => counted(() => runner.process(batch)).then(() => undefined),
    {
      prepare: async (batch: SourceBatch) => {
        const write = await runner.prepare(batch);
        return () => counted(write).then(() => undefined);
      },
    },
  );
  await source.run(handler);
  lifecycle.onStop(sourceName, () => source.stop());

  const http = await startHttp(
    options.http.host,
    options.http.port,
    registry,
    serviceHealth(
      lifecycle,
      probes,
      () => (source.hasJoined() ? [] : ['not yet in the consumer group']),
      () => ({
        service: 'ingest',
        state: lifecycle.state,
        paused: source.isPaused(),
        pending,
        lag: lagTotal,
        inFlight,
        source: sourceName,
        ...(options.streams
          ? { streams: options.streams.layout.partitions, group: options.streams.group }
          : { topics: options.kafka.topics, group: options.kafka.groupId }),
      }),
    ),
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
    statusPageRoutes(view),
  );

  lifecycle.onStop('http', () => http.close());
  lifecycle.running();
  logger.info(
    {
      httpPort: http.port,
      source: sourceName,
      ...(options.streams
        ? { streams: options.streams.layout.partitions, group: options.streams.group }
        : { topics: options.kafka.topics, group: options.kafka.groupId }),
      shards: settings.shards,
    },
    'ingest running',
  );
  return { lifecycle, httpPort: http.port, stop: () => lifecycle.stop(0) };
}
