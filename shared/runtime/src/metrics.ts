// Prometheus metrics. Names are constants here, one place for the whole product, so dashboards and
// alert rules (deploy/observability) match the code.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { SLUICE_VERSION } from './version.ts';

export { Registry } from 'prom-client';

export const METRIC = {
  ingestMessages: 'sluice_ingest_messages_total',
  ingestRecords: 'sluice_ingest_records_total',
  ingestErrors: 'sluice_ingest_errors_total',
  ingestRefused: 'sluice_ingest_refused_total',
  ingestBatchSeconds: 'sluice_ingest_batch_duration_seconds',
  ingestPaused: 'sluice_ingest_paused',
  ingestDdl: 'sluice_ingest_ddl_total',
  sweepDocs: 'sluice_sweep_docs_total',
  dedupMerged: 'sluice_dedup_merged_total',
  bufferPending: 'sluice_buffer_pending_records',
  bufferOldestAge: 'sluice_buffer_oldest_age_seconds',
  flushDuration: 'sluice_flush_duration_seconds',
  flushDocs: 'sluice_flush_docs_total',
  flushBatches: 'sluice_flush_batches_total',
  syncLatency: 'sluice_sync_latency_seconds',
  syncLatencyRecent: 'sluice_sync_latency_recent_seconds',
  dlq: 'sluice_dlq_total',
  backupUnsynced: 'sluice_backup_unsynced_rows',
  recovered: 'sluice_recovered_total',
  consumerLag: 'sluice_consumer_lag_messages',
  shardOwned: 'sluice_shard_owned',
  shards: 'sluice_shards',
  rebalances: 'sluice_rebalances_total',
  checkDifferences: 'sluice_check_differences_rows',
  checkLastRun: 'sluice_check_last_run_timestamp_seconds',
  relayBatches: 'sluice_relay_batches_total',
  relayEntries: 'sluice_relay_entries_total',
  relayErrors: 'sluice_relay_errors_total',
  relayBatchSeconds: 'sluice_relay_batch_duration_seconds',
  relayConnected: 'sluice_relay_connected',
  relayPaused: 'sluice_relay_paused',
  relayDelay: 'sluice_relay_binlog_delay_seconds',
  relayUnacknowledged: 'sluice_relay_unacknowledged_entries',
  relayTrimmed: 'sluice_relay_trimmed_entries_total',
  cacheHits: 'sluice_cache_hits_total',
  cacheMisses: 'sluice_cache_misses_total',
  cacheLoads: 'sluice_cache_loads_total',
  cacheLoadSeconds: 'sluice_cache_load_duration_seconds',
  cacheInvalidated: 'sluice_cache_invalidated_keys_total',
  cacheInvalidationDelay: 'sluice_cache_invalidation_delay_seconds',
  cacheGaps: 'sluice_cache_gaps_total',
  cacheEntries: 'sluice_cache_l1_entries',
  serveRequests: 'sluice_serve_requests_total',
  serveSeconds: 'sluice_serve_request_duration_seconds',
} as const;

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // Node's process metrics under their standard names (process_cpu_seconds_total, nodejs_…), as
  // every Node exporter gives them, so shared dashboards and alerts work unchanged.
  collectDefaultMetrics({ register: registry });
  // The running version, for dashboards and for spotting a half-finished rollout.
  new Gauge({
    name: 'sluice_build_info',
    help: 'Always 1; the version label is the running Sluice version',
    labelNames: ['version', 'node'],
    registers: [registry],
  }).set({ version: SLUICE_VERSION, node: process.version }, 1);
  return registry;
}

function counter<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Counter<L> {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function gauge<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Gauge<L> {
  return new Gauge<L>({ name, help, labelNames, registers: [registry] });
}

/** Both services write dead letters: ingest for bad messages, the worker for rejected documents. */
const deadLetters = (registry: Registry) =>
  counter(registry, METRIC.dlq, 'Dead letters written, by reason', ['reason'] as const);

/** Metrics of `sluice relay` (Canal's TCP protocol → Redis Streams). */
export function relayMetrics(registry: Registry) {
  return {
    batches: counter(registry, METRIC.relayBatches, 'Canal batches written to the streams and acknowledged'),
    entries: counter(
      registry,
      METRIC.relayEntries,
      'Canal entries by outcome: written to a stream; skipped (at or before the last position written: served again by Canal); none (transaction boundaries and other entries that carry no change)',
      ['outcome'] as const,
    ),
    errors: counter(
      registry,
      METRIC.relayErrors,
      'Relay failures by kind (canal, redis, undecodable_entry)',
      ['reason'] as const,
    ),
    batchSeconds: new Histogram({
      name: METRIC.relayBatchSeconds,
      help: 'Time from a Canal batch received to its acknowledgement (convert, write, durable)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    connected: gauge(registry, METRIC.relayConnected, '1 while a Canal session is open and subscribed'),
    paused: gauge(
      registry,
      METRIC.relayPaused,
      '1 while the relay stops reading Canal: a stream holds more unacknowledged entries than SLUICE_STREAM_MAX_LENGTH, or the stream Redis does not keep writes as required',
    ),
    delay: gauge(
      registry,
      METRIC.relayDelay,
      'Time between the binlog time of the last change written and its write (how far the relay is behind the source)',
    ),
    unacknowledged: gauge(
      registry,
      METRIC.relayUnacknowledged,
      'Entries of a stream some consumer group has not acknowledged',
      ['stream'] as const,
    ),
    trimmed: counter(
      registry,
      METRIC.relayTrimmed,
      'Acknowledged stream entries trimmed beyond the length bound',
    ),
  };
}

/** Metrics of the ingest path. */
/** The row cache (shared/cache) of a process: what `sluice serve` exports, and any application may. */
export function cacheMetrics(registry: Registry) {
  return {
    hits: counter(
      registry,
      METRIC.cacheHits,
      'Gets answered by a level (l1, l2); negative: a cached "no row"',
      ['level', 'negative'] as const,
    ),
    misses: counter(registry, METRIC.cacheMisses, 'Gets found in neither level (a load follows)'),
    loads: counter(
      registry,
      METRIC.cacheLoads,
      'Loads from the database by outcome: stored; not_stored (the row changed during the load, so what it read is not cached); error',
      ['outcome'] as const,
    ),
    loadSeconds: new Histogram({
      name: METRIC.cacheLoadSeconds,
      help: 'Time of a load from the database, and its store into L2',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    invalidated: counter(registry, METRIC.cacheInvalidated, 'Entries dropped from L1 by invalidations'),
    invalidationDelay: new Histogram({
      name: METRIC.cacheInvalidationDelay,
      help: 'Time from an invalidation made (by ingest, after the change is in the buffer and the backup) to its arrival in this process',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [registry],
    }),
    gaps: counter(
      registry,
      METRIC.cacheGaps,
      'Times the whole L1 was dropped because the invalidation subscription broke (invalidations may have been missed)',
    ),
    entries: gauge(registry, METRIC.cacheEntries, 'Rows in L1'),
  };
}

export function serveMetrics(registry: Registry) {
  return {
    requests: counter(
      registry,
      METRIC.serveRequests,
      'Row requests by HTTP status and where the answer came from',
      ['status', 'source'] as const,
    ),
    seconds: new Histogram({
      name: METRIC.serveSeconds,
      help: 'Time to answer a row request, by where the answer came from (l1, l2, loader)',
      labelNames: ['source'] as const,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
  };
}

export function ingestMetrics(registry: Registry) {
  return {
    messages: counter(registry, METRIC.ingestMessages, 'Canal messages consumed, by table and type', [
      'table',
      'type',
    ] as const),
    records: counter(
      registry,
      METRIC.ingestRecords,
      'Row changes buffered (after collapsing within a batch)',
      ['op'] as const,
    ),
    errors: counter(registry, METRIC.ingestErrors, 'Messages that could not be processed, by reason', [
      'reason',
    ] as const),
    refused: counter(
      registry,
      METRIC.ingestRefused,
      'Changes refused as not newer: replayed offsets, or older than the buffered version',
      ['reason'] as const,
    ),
    batchSeconds: new Histogram({
      name: METRIC.ingestBatchSeconds,
      help: 'Time to process one Kafka batch (parse, buffer, backup)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    ddl: counter(
      registry,
      METRIC.ingestDdl,
      'DDL statements by type and what was done: none (nothing to apply), reset (documents removed), kept (policy keep), dead_letter',
      ['type', 'action'] as const,
    ),
    paused: gauge(
      registry,
      METRIC.ingestPaused,
      '1 while ingest pauses its partitions (buffer above the high watermark)',
    ),
    merged: counter(
      registry,
      METRIC.dedupMerged,
      'Changes merged into a newer change of the same row before reaching Elasticsearch',
      ['stage'] as const,
    ),
    dlq: deadLetters(registry),
    lag: gauge(registry, METRIC.consumerLag, 'Messages behind the end of each partition', [
      'topic',
      'partition',
    ] as const),
  };
}

export type IngestMetrics = ReturnType<typeof ingestMetrics>;

/** Metrics of the flush path. */
export function flushMetrics(registry: Registry) {
  return {
    duration: new Histogram({
      name: METRIC.flushDuration,
      help: 'Time of one flush batch (read, bulk, settle)',
      labelNames: ['shard'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    docs: counter(
      registry,
      METRIC.flushDocs,
      'Documents by outcome: written, refused (already newer), absent (delete of a missing doc), retry, dead',
      ['result'] as const,
    ),
    batches: counter(registry, METRIC.flushBatches, 'Flush batches by status', ['status'] as const),
    latency: new Histogram({
      name: METRIC.syncLatency,
      help: 'Source commit → Elasticsearch acknowledgement',
      buckets: [0.5, 1, 2, 3, 4, 5, 7.5, 10, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    latencyRecent: new Summary({
      name: METRIC.syncLatencyRecent,
      help: 'Source commit → Elasticsearch acknowledgement, quantiles over the last 10 minutes',
      percentiles: [0.5, 0.9, 0.99, 1],
      maxAgeSeconds: 600,
      ageBuckets: 5,
      registers: [registry],
    }),
    dlq: deadLetters(registry),
    recovered: counter(registry, METRIC.recovered, 'Backup rows re-buffered by recovery'),
    sweep: counter(
      registry,
      METRIC.sweepDocs,
      'After TRUNCATE / DROP TABLE: documents checked against MySQL and removed, and buffered changes of gone rows written as deletes',
      ['result'] as const,
    ),
    pending: gauge(registry, METRIC.bufferPending, 'Records waiting in the buffer, per shard', [
      'shard',
    ] as const),
    oldestAge: gauge(registry, METRIC.bufferOldestAge, 'Age of the oldest waiting record, per shard', [
      'shard',
    ] as const),
    backupUnsynced: gauge(registry, METRIC.backupUnsynced, 'Backup rows not yet synced'),
    owned: gauge(
      registry,
      METRIC.shardOwned,
      '1 for each shard this worker owns (a shard it does not own has no series)',
      ['shard'] as const,
    ),
    shards: gauge(registry, METRIC.shards, 'The number of shards of the cluster (SLUICE_SHARDS)'),
    rebalances: counter(registry, METRIC.rebalances, 'Assignment changes applied by this worker'),
    checkDifferences: gauge(
      registry,
      METRIC.checkDifferences,
      'Differences the newest stored check found, per table and kind (missing, stale, extra)',
      ['table', 'kind'] as const,
    ),
    checkLastRun: gauge(registry, METRIC.checkLastRun, 'When the newest stored check finished (0: never)'),
  };
}

export type FlushMetrics = ReturnType<typeof flushMetrics>;

/**
 * Drops the per-shard gauge series of a shard this worker does not own any more: summed over the
 * workers each shard then counts once, and a stale age cannot keep an alert firing.
 */
export function forgetShard(
  metrics: Pick<FlushMetrics, 'owned' | 'pending' | 'oldestAge'>,
  shard: string,
): void {
  metrics.owned.remove({ shard });
  metrics.pending.remove({ shard });
  metrics.oldestAge.remove({ shard });
}
