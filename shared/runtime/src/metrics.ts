// Prometheus metrics. Names are constants here, one place for the whole product, so dashboards and
// alert rules (deploy/observability) match the code.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry, Summary } from 'prom-client';

export { Registry } from 'prom-client';

export const METRIC = {
  ingestMessages: 'sluice_ingest_messages_total',
  ingestRecords: 'sluice_ingest_records_total',
  ingestErrors: 'sluice_ingest_errors_total',
  ingestRefused: 'sluice_ingest_refused_total',
  ingestBatchSeconds: 'sluice_ingest_batch_duration_seconds',
  ingestPaused: 'sluice_ingest_paused',
  dedupMerged: 'sluice_dedup_merged_total',
  bufferPending: 'sluice_buffer_pending',
  bufferOldestAge: 'sluice_buffer_oldest_age_seconds',
  flushDuration: 'sluice_flush_duration_seconds',
  flushDocs: 'sluice_flush_docs_total',
  flushBatches: 'sluice_flush_batches_total',
  syncLatency: 'sluice_sync_latency_seconds',
  syncLatencyRecent: 'sluice_sync_latency_recent_seconds',
  dlq: 'sluice_dlq_total',
  backupUnsynced: 'sluice_backup_unsynced',
  recovered: 'sluice_recovered_total',
  consumerLag: 'sluice_consumer_lag',
  shardOwned: 'sluice_shard_owned',
  rebalances: 'sluice_rebalances_total',
} as const;

export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'sluice_process_' });
  return registry;
}

/** Metrics of the ingest path. */
export function ingestMetrics(registry: Registry) {
  return {
    messages: new Counter({
      name: METRIC.ingestMessages,
      help: 'Canal messages consumed, by table and type',
      labelNames: ['table', 'type'] as const,
      registers: [registry],
    }),
    records: new Counter({
      name: METRIC.ingestRecords,
      help: 'Row changes buffered (after collapsing within a batch)',
      labelNames: ['op'] as const,
      registers: [registry],
    }),
    errors: new Counter({
      name: METRIC.ingestErrors,
      help: 'Messages that could not be processed, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    refused: new Counter({
      name: METRIC.ingestRefused,
      help: 'Changes refused as not newer: replayed offsets, or older than the buffered version',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: METRIC.ingestBatchSeconds,
      help: 'Time to process one Kafka batch (parse, buffer, backup)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    paused: new Gauge({
      name: METRIC.ingestPaused,
      help: '1 while ingest pauses its partitions (buffer above the high watermark)',
      registers: [registry],
    }),
    merged: new Counter({
      name: METRIC.dedupMerged,
      help: 'Changes merged into a newer change of the same row before reaching Elasticsearch',
      labelNames: ['stage'] as const,
      registers: [registry],
    }),
    dlq: new Counter({
      name: METRIC.dlq,
      help: 'Dead letters written, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    lag: new Gauge({
      name: METRIC.consumerLag,
      help: 'Messages behind the end of each partition',
      labelNames: ['topic', 'partition'] as const,
      registers: [registry],
    }),
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
    docs: new Counter({
      name: METRIC.flushDocs,
      help: 'Documents by outcome: written, refused (already newer), absent (delete of a missing doc), retry, dead',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    batches: new Counter({
      name: METRIC.flushBatches,
      help: 'Flush batches by status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
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
    dlq: new Counter({
      name: METRIC.dlq,
      help: 'Dead letters written, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    recovered: new Counter({
      name: METRIC.recovered,
      help: 'Backup rows re-buffered by recovery',
      registers: [registry],
    }),
    pending: new Gauge({
      name: METRIC.bufferPending,
      help: 'Records waiting in the buffer, per shard',
      labelNames: ['shard'] as const,
      registers: [registry],
    }),
    oldestAge: new Gauge({
      name: METRIC.bufferOldestAge,
      help: 'Age of the oldest waiting record, per shard',
      labelNames: ['shard'] as const,
      registers: [registry],
    }),
    backupUnsynced: new Gauge({
      name: METRIC.backupUnsynced,
      help: 'Backup rows not yet synced',
      registers: [registry],
    }),
    owned: new Gauge({
      name: METRIC.shardOwned,
      help: '1 for each shard this worker owns',
      labelNames: ['shard'] as const,
      registers: [registry],
    }),
    rebalances: new Counter({
      name: METRIC.rebalances,
      help: 'Assignment changes applied by this worker',
      registers: [registry],
    }),
  };
}

export type FlushMetrics = ReturnType<typeof flushMetrics>;
