// `sluice serve`, the reference read service, wired: the source MySQL (read-only) and the buffer's
// Redis (where ingest with SLUICE_CACHE_INVALIDATION invalidates) → a row cache (L1 in this process,
// L2 in Redis) whose loader reads MySQL → one subscription to the invalidations → HTTP:
//
//   GET /rows/<db>/<table>/<id>   200 {table, id, source, row}; 404 {error} when there is no such row
//                                 (or the table is not indexed); 400 for a malformed request; 503
//                                 when MySQL or Redis fails. The x-sluice-cache header says where
//                                 the answer came from: l1, l2 or loader.
//
// and /metrics (the cache's hits per level, loads, invalidations and their delay, gaps; requests),
// /health/live, /health/ready (MySQL, Redis and the subscription), /status.

import { InvalidationListener, RowCache } from '@sluice/cache';
import type { SettingValues } from '@sluice/config';
import { loadMapping } from '@sluice/config';
import type { Row } from '@sluice/core';
import {
  cacheMetrics,
  createRegistry,
  DependencyProbes,
  Lifecycle,
  type Logger,
  Periodic,
  serveMetrics,
  serviceHealth,
  startHttp,
} from '@sluice/runtime';
import { cacheLayoutOf, openBufferRedis, openSourceMysql } from '@sluice/wiring';
import { compileServeOptions } from './options.ts';
import { parseRowPath, RowRequestError, SourceRowReader } from './rows.ts';

export interface ServeHandle {
  lifecycle: Lifecycle;
  httpPort: number;
  cache: RowCache<Row>;
  stop(): Promise<void>;
}

export async function startServe(settings: SettingValues, logger: Logger): Promise<ServeHandle> {
  const options = compileServeOptions(settings);
  const lifecycle = new Lifecycle({ logger, forceExitMs: options.forceExitMs });
  const registry = createRegistry('serve');
  const metrics = cacheMetrics(registry);
  const requests = serveMetrics(registry);
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);
  const pool = (await openSourceMysql(settings, lifecycle)) as NonNullable<
    Awaited<ReturnType<typeof openSourceMysql>>
  >;
  const redis = await openBufferRedis(settings, lifecycle, { name: 'serve', logger });
  const subscriber = await openBufferRedis(settings, lifecycle, { name: 'serve-invalidations', logger });
  const layout = cacheLayoutOf(settings);
  const reader = new SourceRowReader(pool, mapping);

  let subscribed = false;
  const cache = new RowCache<Row>({
    redis,
    layout,
    loader: (ref, seen) => reader.load(ref, seen),
    ...options.cache,
    events: {
      hit: (level, negative) => metrics.hits.inc({ level, negative: String(negative) }),
      miss: () => metrics.misses.inc(),
      load: (seconds, outcome) => {
        metrics.loads.inc({ outcome });
        metrics.loadSeconds.observe(seconds);
      },
      invalidated: (keys, delay) => {
        metrics.invalidated.inc(keys);
        metrics.invalidationDelay.observe(delay);
      },
      gap: () => metrics.gaps.inc(),
    },
  });
  const listener = new InvalidationListener(subscriber, layout);
  listener.register(cache);
  subscriber.on('end', () => {
    subscribed = false;
  });
  subscriber.on('close', () => {
    subscribed = false;
  });
  subscriber.on('ready', () => {
    subscribed = true;
  });
  await listener.start();
  subscribed = true;
  lifecycle.onStop('invalidations', () => listener.stop());

  const periodic = new Periodic({ logger });
  lifecycle.onStop('background', () => periodic.stop());
  const probes = new DependencyProbes(
    { 'MySQL (source)': () => pool.query('SELECT 1'), Redis: () => redis.ping() },
    { timeoutMs: 2000 },
  );
  periodic.every(5000, 'dependency-probes', () => probes.runOnce());
  periodic.every(1000, 'cache-size', async () => {
    metrics.entries.set(cache.localSize());
  });

  const json = (status: number, body: unknown, source?: string) => ({
    status,
    contentType: 'application/json',
    body: JSON.stringify(body),
    headers: (source ? { 'x-sluice-cache': source } : {}) as Record<string, string>,
  });
  const answerRow = async (path: string) => {
    const started = performance.now();
    let answer: ReturnType<typeof json>;
    let source = 'none';
    try {
      const request = parseRowPath(path);
      await reader.check(request);
      const found = await cache.read({ table: request.tableKey, pk: request.id });
      source = found.from;
      answer =
        found.value === null
          ? json(404, { error: 'no such row', table: request.tableKey, id: request.id }, source)
          : json(200, { table: request.tableKey, id: request.id, source, row: found.value }, source);
    } catch (error) {
      if (error instanceof RowRequestError) answer = json(error.status, { error: error.message });
      else {
        logger.warn({ err: error, path }, 'row request failed');
        answer = json(503, { error: `the row could not be read: ${(error as Error).message}` });
      }
    }
    requests.requests.inc({ status: String(answer.status), source });
    requests.seconds.observe({ source }, (performance.now() - started) / 1000);
    return answer;
  };

  const http = await startHttp(
    options.http.host,
    options.http.port,
    registry,
    serviceHealth(
      lifecycle,
      probes,
      () => (subscribed ? [] : ['not subscribed to the invalidations (L1 is dropped when it is again)']),
      () => ({
        service: 'serve',
        state: lifecycle.state,
        cache: { prefix: layout.prefix, l1Entries: cache.localSize(), ...options.cache },
        subscribed,
      }),
    ),
    undefined,
    {},
    { '/rows/': answerRow },
  );
  lifecycle.onStop('http', () => http.close());
  lifecycle.running();
  logger.info({ httpPort: http.port, cache: layout.prefix }, 'serve running');
  return { lifecycle, httpPort: http.port, cache, stop: () => lifecycle.stop(0) };
}
