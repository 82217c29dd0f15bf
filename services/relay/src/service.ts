// The relay service, wired: settings → options → the stream Redis (refused when it may evict keys,
// or keeps writes less than SLUICE_RELAY_DURABILITY asks) → the relay loop (relay.ts) → background
// tasks (trim and backpressure per stream, durability re-checked) → HTTP → running. On stop, the
// reverse: the batch in flight is finished and acknowledged, or left for Canal to serve again.
import { redactUrl, type SettingValues } from '@sluice/config';
import { DependencyError } from '@sluice/core';
import {
  createRegistry,
  DependencyProbes,
  Lifecycle,
  type Logger,
  Periodic,
  relayMetrics,
  serviceHealth,
  startHttp,
} from '@sluice/runtime';
import { adoptUntaggedStreams, checkDurability, type DurabilityReport, StreamWriter } from '@sluice/source';
import { openStreamRedis, streamRedisUrl } from '@sluice/wiring';
import { compileRelayOptions } from './options.ts';
import { Relay } from './relay.ts';

export interface RelayHandle {
  lifecycle: Lifecycle;
  httpPort: number;
  relay: Relay;
  stop(): Promise<void>;
}

export async function startRelay(settings: SettingValues, logger: Logger): Promise<RelayHandle> {
  const options = compileRelayOptions(settings);
  const lifecycle = new Lifecycle({ logger, forceExitMs: options.forceExitMs });
  const registry = createRegistry('relay');
  const metrics = relayMetrics(registry);
  const url = streamRedisUrl(settings);
  const redis = await openStreamRedis(settings, lifecycle, { name: 'relay', writes: true, logger });

  const wanted = options.durability;
  let durability: DurabilityReport = await checkDurability(redis, wanted);
  if (durability.problem) {
    throw new DependencyError(
      'the stream Redis',
      redactUrl(url),
      new Error(
        `${durability.problem}; the relay acknowledges Canal's batches once they are in it. Fix the Redis, or accept the risk with SLUICE_RELAY_DURABILITY=${durability.keeps === 'aof' ? 'aof' : 'none'}`,
      ),
      'does not keep acknowledged writes',
    );
  }
  if (durability.keeps === 'none')
    logger.warn(
      'the stream Redis has no append-only file (accepted by SLUICE_RELAY_DURABILITY=none): a restart of it loses every entry not yet read, although Canal was told they were delivered',
    );

  const periodic = new Periodic({ logger });
  lifecycle.onStop('background', () => periodic.stop());
  const probes = new DependencyProbes({ 'stream Redis': () => redis.ping() }, { timeoutMs: 2000 });
  periodic.every(5000, 'dependency-probes', () => probes.runOnce());
  periodic.every(options.durabilityCheckMs, 'durability', async () => {
    const report = await checkDurability(redis, wanted);
    if (report.problem && !durability.problem)
      logger.error(
        { problem: report.problem },
        'the stream Redis no longer keeps acknowledged writes: not reading Canal',
      );
    if (!report.problem && durability.problem)
      logger.info('the stream Redis keeps acknowledged writes again');
    durability = report;
  });
  // A Redis that restarted may have come back with other settings: check before the next batch.
  redis.on('ready', () => {
    checkDurability(redis, wanted)
      .then((report) => {
        durability = report;
      })
      .catch(() => undefined);
  });

  const renamed = await adoptUntaggedStreams(redis, options.relay.layout);
  if (renamed > 0) logger.info({ renamed }, 'streams of the earlier key layout renamed');
  const writer = new StreamWriter(redis, options.relay.layout);
  const unacknowledged = new Map<number, number>();
  periodic.every(options.trimMs, 'trim', async () => {
    for (let n = 0; n < options.relay.layout.partitions; n++) {
      const result = await writer.trim(n, options.maxLength);
      unacknowledged.set(n, result.unacknowledged);
      metrics.unacknowledged.set({ stream: String(n) }, result.unacknowledged);
      if (result.removed > 0) metrics.trimmed.inc(result.removed);
    }
  });
  const holdReason = (): string | undefined => {
    if (durability.problem) return `the stream Redis ${durability.problem}`;
    for (const [n, count] of unacknowledged) {
      if (count > options.maxLength)
        return `stream ${n} holds ${count} entries not acknowledged by its readers (SLUICE_STREAM_MAX_LENGTH ${options.maxLength})`;
    }
    return undefined;
  };

  const relay = new Relay(options.relay, { writer, redis, metrics, logger, holdReason });
  relay.start();
  lifecycle.onStop('relay', () => relay.stop());

  const ownReasons = (): string[] => {
    // a standby relay is healthy: it takes over when the active one stops or dies
    if (relay.status.role !== 'active') return [];
    const held = holdReason();
    return [...(relay.status.connected ? [] : ['not subscribed to Canal']), ...(held ? [held] : [])];
  };
  const http = await startHttp(
    options.http.host,
    options.http.port,
    registry,
    serviceHealth(lifecycle, probes, ownReasons, () => ({
      service: 'relay',
      state: lifecycle.state,
      canal: options.relay.canal.address,
      destination: options.relay.canal.destination,
      streams: options.relay.layout.partitions,
      durability: durability.keeps,
      unacknowledged: Object.fromEntries(unacknowledged),
      ...relay.status,
    })),
  );
  lifecycle.onStop('http', () => http.close());
  lifecycle.running();
  logger.info(
    {
      httpPort: http.port,
      canal: options.relay.canal.address,
      destination: options.relay.canal.destination,
      streams: options.relay.layout.partitions,
      durability: durability.keeps,
    },
    'relay running',
  );
  return { lifecycle, httpPort: http.port, relay, stop: () => lifecycle.stop(0) };
}
