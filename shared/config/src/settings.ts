// Every setting Sluice reads: its environment variable, its key in the YAML file, its default and
// what it does. `sluice config` prints this table; docs/configuration.md is generated from it.
import { ConfigError } from '@sluice/core';
import { z } from 'zod';

export interface SettingSpec<T> {
  env: string;
  /** Dotted key in the YAML file (`kafka.brokers` → kafka: { brokers: … }). */
  key: string;
  doc: string;
  schema: z.ZodType<T>;
  /** undefined = required. */
  default: T | undefined;
  /** Never printed, logged or exported; may also be read from the file named by <env>_FILE. */
  secret?: boolean;
}

function setting<T>(
  env: string,
  key: string,
  schema: z.ZodType<T>,
  defaultValue: T | undefined,
  doc: string,
  secret = false,
): SettingSpec<T> {
  return { env, key, schema, default: defaultValue, doc, secret };
}

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const list = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
      : value,
  z.array(z.string().min(1)).min(1),
);
const flag = z.preprocess((value) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
}, z.boolean());
const url = (...protocols: string[]) =>
  z.string().refine(
    (text) => {
      try {
        return protocols.includes(new URL(text).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );
/** One URL, or a comma-separated list of them (the seed nodes of a Redis Cluster). */
const urlList = (...protocols: string[]) =>
  z.string().refine(
    (text) => {
      const parts = text.split(',').map((part) => part.trim());
      return parts.every((part) => {
        try {
          return protocols.includes(new URL(part).protocol);
        } catch {
          return false;
        }
      });
    },
    {
      message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}, or a comma-separated list of them`,
    },
  );
const optionalText = z.string().optional();

export const SETTINGS = {
  cluster: setting(
    'SLUICE_CLUSTER',
    'cluster',
    z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes'),
    'default',
    'Cluster name: the ZooKeeper root /sluice/<cluster>, and part of every Redis key and queue name.',
  ),
  shards: setting(
    'SLUICE_SHARDS',
    'shards',
    int(1, 1024),
    16,
    'Shard count; fixed for the life of a cluster.',
  ),
  windowMs: setting(
    'SLUICE_WINDOW_MS',
    'window_ms',
    int(100, 3_600_000),
    3000,
    'Flush window per shard (ms).',
  ),
  batchSize: setting(
    'SLUICE_BATCH_SIZE',
    'batch_size',
    int(1, 100_000),
    1000,
    'Documents per bulk request of a flush.',
  ),
  flushConcurrency: setting(
    'SLUICE_FLUSH_CONCURRENCY',
    'flush.concurrency',
    int(1, 32),
    4,
    "Bulk requests in flight at once for one shard's flush: a flush takes SLUICE_BATCH_SIZE × this many records at a time (distinct rows, so their order does not matter; each document's external version decides).",
  ),
  maxRetry: setting(
    'SLUICE_MAX_RETRY',
    'max_retry',
    int(0, 100),
    3,
    'Retries of a failed bulk request within one flush (records stay buffered after that).',
  ),
  retryBackoffMaxMs: setting(
    'SLUICE_RETRY_BACKOFF_MAX_MS',
    'retry_backoff_max_ms',
    int(100, 3_600_000),
    10_000,
    'Longest wait before a record whose write failed (429, 5xx, timeout) is tried again; the wait doubles from 1 s per failure up to this. Bounds the recovery time after an Elasticsearch outage.',
  ),
  parallelism: setting(
    'SLUICE_PARALLELISM',
    'parallelism',
    int(1, 256),
    4,
    'Ingest: partitions processed at once. Worker: shards flushed at once.',
  ),
  logLevel: setting(
    'SLUICE_LOG_LEVEL',
    'log_level',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    'info',
    'Log level (pino).',
  ),
  httpHost: setting(
    'SLUICE_HTTP_HOST',
    'http.host',
    z.string().min(1),
    '127.0.0.1',
    'Address of /metrics and /health.',
  ),
  httpPort: setting(
    'SLUICE_HTTP_PORT',
    'http.port',
    int(0, 65535).optional(),
    undefined,
    'Port of /metrics and /health (0 = any free port). Default: ingest 9401, worker 9402, relay 9403, serve 9404.',
  ),

  sourceKind: setting(
    'SLUICE_SOURCE',
    'source.kind',
    z.enum(['kafka', 'redis-stream']),
    'kafka',
    "Where ingest reads Canal's changes: Kafka topics, or the Redis Streams that sluice relay writes (docs/redis-stream.md).",
  ),
  streamPartitions: setting(
    'SLUICE_STREAM_PARTITIONS',
    'stream.partitions',
    int(1, 1024),
    8,
    "Redis Streams of a cluster (redis-stream source): a table's changes go to stream hash(db.table) mod N. Fixed for a deployment, like a topic's partitions.",
  ),
  streamGroup: setting(
    'SLUICE_STREAM_GROUP',
    'stream.group',
    z.string().min(1),
    'sluice-ingest',
    'Consumer group of the ingest replicas on the Redis Streams.',
  ),
  streamFromBeginning: setting(
    'SLUICE_STREAM_FROM_BEGINNING',
    'stream.from_beginning',
    flag,
    true,
    "Where a new stream consumer group starts: the streams' first entry (true) or their end.",
  ),

  streamRedisUrl: setting(
    'SLUICE_STREAM_REDIS_URL',
    'stream.redis_url',
    urlList('redis:', 'rediss:').optional(),
    undefined,
    "Redis of the streams (sluice relay, the redis-stream source); default: SLUICE_REDIS_URL. It must keep acknowledged writes (append-only file), unlike the buffer's Redis, which may lose everything. A Redis Cluster: its seed nodes, comma-separated, with SLUICE_STREAM_REDIS_CLUSTER.",
    true,
  ),
  streamRedisCluster: setting(
    'SLUICE_STREAM_REDIS_CLUSTER',
    'stream.redis_cluster',
    flag.optional(),
    undefined,
    "The streams' Redis is a Redis Cluster; default: SLUICE_REDIS_CLUSTER when SLUICE_STREAM_REDIS_URL is not set, else false.",
  ),
  streamMaxLength: setting(
    'SLUICE_STREAM_MAX_LENGTH',
    'stream.max_length',
    int(1000),
    1_000_000,
    'sluice relay: entries kept per stream. Acknowledged entries beyond it are trimmed; entries a consumer group has not acknowledged are never trimmed: while they alone exceed it, the relay stops reading Canal.',
  ),

  canalAddress: setting(
    'SLUICE_CANAL_ADDRESS',
    'canal.address',
    z
      .string()
      .regex(/^[^\s:]+:\d+$/, 'must be host:port')
      .optional(),
    undefined,
    "sluice relay: Canal's client server, host:port (canal.port, 11111 by default).",
  ),
  canalDestination: setting(
    'SLUICE_CANAL_DESTINATION',
    'canal.destination',
    z.string().min(1),
    'example',
    'sluice relay: the Canal destination (instance) to read.',
  ),
  canalUser: setting(
    'SLUICE_CANAL_USER',
    'canal.user',
    z.string(),
    '',
    'sluice relay: canal.user of the server.',
  ),
  canalPassword: setting(
    'SLUICE_CANAL_PASSWORD',
    'canal.password',
    z.string(),
    '',
    'sluice relay: the password whose SHA1(SHA1()) is canal.passwd of the server.',
    true,
  ),
  canalClientId: setting(
    'SLUICE_CANAL_CLIENT_ID',
    'canal.client_id',
    z.string().regex(/^\d+$/, 'must be a number'),
    '1001',
    'sluice relay: the client id Canal keeps the position under.',
  ),
  canalFilter: setting(
    'SLUICE_CANAL_FILTER',
    'canal.filter',
    z.string(),
    '',
    "sluice relay: table filter of the subscription (Canal regex, e.g. shop\\..*); empty keeps the destination's own. Canal filters while it parses: a changed filter does not apply to events it parsed before.",
  ),
  canalBatchSize: setting(
    'SLUICE_CANAL_BATCH_SIZE',
    'canal.batch_size',
    int(1, 1_000_000),
    1024,
    "sluice relay: size of one Canal batch (entries; in memunit blocks, 1 KiB by default, when the server's canal.instance.memory.batch.mode is MEMSIZE).",
  ),
  canalGetTimeoutMs: setting(
    'SLUICE_CANAL_GET_TIMEOUT_MS',
    'canal.get_timeout_ms',
    int(1, 60_000),
    100,
    'sluice relay: how long Canal waits for a full batch before returning what it has (ms).',
  ),
  relayDurability: setting(
    'SLUICE_RELAY_DURABILITY',
    'relay.durability',
    z.enum(['fsync', 'aof', 'none']),
    'fsync',
    'sluice relay acknowledges a Canal batch once Redis answered its writes, and refuses to start on a stream Redis that would lose them: fsync = append-only file fsynced before every reply (appendfsync always); aof = append-only file on (everysec may lose up to a second on a host crash, not on a Redis crash); none = accept a Redis without an append-only file (a restart loses unread changes).',
  ),
  relayWaitReplicas: setting(
    'SLUICE_RELAY_WAIT_REPLICAS',
    'relay.wait_replicas',
    int(0, 16),
    0,
    'sluice relay: replicas of the stream Redis that must hold a batch (WAIT) before it is acknowledged to Canal, for a Redis that fails over.',
  ),

  kafkaBrokers: setting(
    'SLUICE_KAFKA_BROKERS',
    'kafka.brokers',
    list.optional(),
    undefined,
    'Kafka bootstrap brokers, comma-separated. Required by ingest with SLUICE_SOURCE=kafka and by re-syncs (backfill, repair, reindex) on the Kafka path.',
  ),
  kafkaTopics: setting(
    'SLUICE_KAFKA_TOPICS',
    'kafka.topics',
    list,
    ['sluice.canal'],
    'Canal topics to consume.',
  ),
  kafkaGroup: setting(
    'SLUICE_KAFKA_GROUP',
    'kafka.group',
    z.string().min(1),
    'sluice-ingest',
    'Consumer group.',
  ),
  kafkaClientId: setting(
    'SLUICE_KAFKA_CLIENT_ID',
    'kafka.client_id',
    z.string().min(1),
    'sluice',
    'Kafka client id.',
  ),
  kafkaSessionTimeoutMs: setting(
    'SLUICE_KAFKA_SESSION_TIMEOUT_MS',
    'kafka.session_timeout_ms',
    int(6000, 300_000),
    10_000,
    "Consumer-group session timeout. A consumer that dies without leaving (kill -9, or kafkajs restarting after a broker restart) holds its partitions until this expires: the group's rebalance waits for it. Must lie within the broker's group.min/max.session.timeout.ms.",
  ),
  kafkaFromBeginning: setting(
    'SLUICE_KAFKA_FROM_BEGINNING',
    'kafka.from_beginning',
    flag,
    true,
    'Where a new consumer group starts: the earliest offset (true) or the latest.',
  ),
  sourceGeneration: setting(
    'SLUICE_SOURCE_GENERATION',
    'source.generation',
    int(0, 511),
    0,
    'Version generation; bump it after repartitioning the topic (versions = generation × 2^44 + offset).',
  ),
  sourceTimeZone: setting(
    'SLUICE_SOURCE_TIME_ZONE',
    'source.time_zone',
    z.string().refine(
      (zone) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: zone });
          return true;
        } catch {
          return false;
        }
      },
      { message: 'must be an IANA time zone such as UTC or Asia/Shanghai' },
    ),
    'UTC',
    "Time zone Canal renders TIMESTAMP values in (its JVM's user.timezone); Sluice indexes them in UTC.",
  ),
  maxRowBytes: setting(
    'SLUICE_MAX_ROW_BYTES',
    'source.max_row_bytes',
    int(1024),
    4 * 1024 * 1024,
    'Largest row image accepted; larger rows are dead-lettered.',
  ),

  redisUrl: setting(
    'SLUICE_REDIS_URL',
    'redis.url',
    urlList('redis:', 'rediss:'),
    undefined,
    'Redis URL; for a Redis Cluster (SLUICE_REDIS_CLUSTER) the URLs of some of its nodes, comma-separated (one is enough to find the others).',
    true,
  ),
  redisCluster: setting(
    'SLUICE_REDIS_CLUSTER',
    'redis.cluster',
    flag,
    false,
    "Redis is a Redis Cluster: each shard's buffer, lock and flush queue live in the shard's hash slot, the row cache in its table's, so shards spread over the masters.",
  ),
  redisAllowEviction: setting(
    'SLUICE_REDIS_ALLOW_EVICTION',
    'redis.allow_eviction',
    flag,
    false,
    'Start even when Redis may evict keys (maxmemory-policy other than noeviction). Evicted buffer entries are only restored by a recovery from the backup table.',
  ),
  redisPrefix: setting(
    'SLUICE_REDIS_PREFIX',
    'redis.prefix',
    z.string().regex(/^[A-Za-z0-9_.-]+$/),
    'sluice',
    'Redis key prefix.',
  ),
  cacheInvalidation: setting(
    'SLUICE_CACHE_INVALIDATION',
    'cache.invalidation',
    flag,
    false,
    "Ingest invalidates every changed row in the row cache of applications (shared/cache, in the buffer's Redis under SLUICE_REDIS_PREFIX:SLUICE_CLUSTER) once the change is in the buffer and the backup.",
  ),
  cacheL1Max: setting(
    'SLUICE_CACHE_L1_MAX',
    'cache.l1_max',
    int(1),
    1000,
    'sluice serve: rows kept in the row cache of the process (L1).',
  ),
  cacheL1TtlMs: setting(
    'SLUICE_CACHE_L1_TTL_MS',
    'cache.l1_ttl_ms',
    int(1),
    300_000,
    'sluice serve: how long a row stays in L1 (the worst-case staleness when invalidations stop arriving without a break in the subscription).',
  ),
  cacheL2TtlMs: setting(
    'SLUICE_CACHE_L2_TTL_MS',
    'cache.l2_ttl_ms',
    int(1, 3_600_000),
    1_800_000,
    "sluice serve: how long a row stays in Redis (L2); at most an hour, the lifetime of the invalidations' guards.",
  ),
  cacheNegativeTtlMs: setting(
    'SLUICE_CACHE_NEGATIVE_TTL_MS',
    'cache.negative_ttl_ms',
    int(1, 3_600_000),
    60_000,
    'sluice serve: how long "no such row" is cached (both levels).',
  ),
  highWatermark: setting(
    'SLUICE_BUFFER_HIGH_WATERMARK',
    'buffer.high_watermark',
    int(1),
    200_000,
    'Pending records (all shards) above which ingest pauses its partitions.',
  ),
  lowWatermark: setting(
    'SLUICE_BUFFER_LOW_WATERMARK',
    'buffer.low_watermark',
    int(0),
    100_000,
    'Pending records below which paused partitions resume.',
  ),

  resyncChunkRows: setting(
    'SLUICE_RESYNC_CHUNK_ROWS',
    'resync.chunk_rows',
    int(1),
    1000,
    'sluice backfill: rows per chunk (one read, one buffer write, one backup transaction, one checkpoint).',
  ),
  resyncMaxRowsPerSecond: setting(
    'SLUICE_RESYNC_MAX_ROWS_PER_SECOND',
    'resync.max_rows_per_second',
    int(0),
    0,
    'sluice backfill: rows per second at most (0: no limit but the buffer high watermark, which a backfill waits below like ingest).',
  ),

  checkSchedule: setting(
    'SLUICE_CHECK_SCHEDULE',
    'check.schedule',
    z
      .string()
      .trim()
      .refine(
        (v) => v === '' || v === 'off' || /^(\S+\s+){4,5}\S+$/.test(v),
        'a cron pattern of 5 or 6 fields, or off',
      ),
    '0 2 * * *',
    'The nightly consistency check (workers, with SLUICE_SOURCE_MYSQL_URL): a cron pattern in UTC (6 fields: with seconds), run once across the cluster; "off" to disable.',
  ),
  checkRepair: setting(
    'SLUICE_CHECK_REPAIR',
    'check.repair',
    flag,
    false,
    'After the nightly check, repair what it found (as sluice repair --from-last-check).',
  ),

  metaMysqlUrl: setting(
    'SLUICE_META_MYSQL_URL',
    'meta.mysql_url',
    url('mysql:').optional(),
    undefined,
    'MySQL metadata database (backup table, sync monitor, dead letters). Required by every process but sluice relay.',
    true,
  ),
  sourceMysqlUrl: setting(
    'SLUICE_SOURCE_MYSQL_URL',
    'source.mysql_url',
    url('mysql:').optional(),
    undefined,
    'The source MySQL: read by `sluice check` and by workers to apply TRUNCATE and DROP TABLE (which rows are gone); a read-only user is enough. Without it those statements are dead-lettered.',
    true,
  ),
  backupRetentionMs: setting(
    'SLUICE_BACKUP_RETENTION_MS',
    'meta.backup_retention_ms',
    int(0),
    3_600_000,
    'How long synced backup rows are kept before they are purged (ms).',
  ),
  syncMonitorRetentionMs: setting(
    'SLUICE_SYNC_MONITOR_RETENTION_MS',
    'meta.sync_monitor_retention_ms',
    int(0),
    7 * 86_400_000,
    'How long the sync_monitor rows (one per flush batch) are kept before they are purged (ms); 0 keeps them.',
  ),
  recoveryIntervalMs: setting(
    'SLUICE_RECOVERY_INTERVAL_MS',
    'meta.recovery_interval_ms',
    int(0),
    30_000,
    'Continuous recovery: re-buffer unsynced backup rows missing from Redis this often (0 = only at start).',
  ),

  esUrl: setting(
    'SLUICE_ES_URL',
    'es.url',
    url('http:', 'https:').optional(),
    undefined,
    'Elasticsearch URL. Required by every process but sluice relay.',
    true,
  ),
  esMajor: setting(
    'SLUICE_ES_MAJOR',
    'es.major',
    z.enum(['auto', '8', '9']),
    'auto',
    'Elasticsearch major (auto = ask the server); picks the matching client.',
  ),
  esIndexPrefix: setting(
    'SLUICE_ES_INDEX_PREFIX',
    'es.index_prefix',
    z.string().regex(/^[a-z0-9_.-]*$/),
    '',
    'Prefix of default index names ("<prefix><db>.<table>").',
  ),
  esBulkMaxBytes: setting(
    'SLUICE_ES_BULK_MAX_BYTES',
    'es.bulk_max_bytes',
    int(1024),
    5 * 1024 * 1024,
    'A bulk request is split into chunks of at most this many bytes.',
  ),
  esRequestTimeoutMs: setting(
    'SLUICE_ES_REQUEST_TIMEOUT_MS',
    'es.request_timeout_ms',
    int(100),
    30_000,
    'Elasticsearch request timeout (ms).',
  ),
  esGcDeletes: setting(
    'SLUICE_ES_GC_DELETES',
    'es.gc_deletes',
    z.string().regex(/^\d+(ms|s|m|h|d)$/),
    '1h',
    'index.gc_deletes of Sluice indices: how long a delete tombstone refuses stale writes.',
  ),
  esReplicas: setting(
    'SLUICE_ES_REPLICAS',
    'es.replicas',
    int(0, 10),
    1,
    'number_of_replicas of the indices Sluice creates (0 on a single node).',
  ),
  mappingFile: setting(
    'SLUICE_MAPPING_FILE',
    'mapping_file',
    optionalText,
    undefined,
    'Index mapping file (YAML).',
  ),

  zkConnect: setting(
    'SLUICE_ZK_CONNECT',
    'zookeeper.connect',
    optionalText,
    undefined,
    'ZooKeeper connect string.',
  ),
  zkSessionTimeoutMs: setting(
    'SLUICE_ZK_SESSION_TIMEOUT_MS',
    'zookeeper.session_timeout_ms',
    int(2000, 120_000),
    10_000,
    'ZooKeeper session timeout (ms).',
  ),
  lockTtlMs: setting(
    'SLUICE_LOCK_TTL_MS',
    'worker.lock_ttl_ms',
    int(1000),
    3000,
    "Shard Redlock TTL (ms), extended while a flush runs; a dead worker's lock frees after at most this long.",
  ),
  drainTimeoutMs: setting(
    'SLUICE_DRAIN_TIMEOUT_MS',
    'worker.drain_timeout_ms',
    int(100),
    10_000,
    'On SIGTERM: how long the flush in flight may take before it is abandoned (ms).',
  ),
  staticShards: setting(
    'SLUICE_STATIC_SHARDS',
    'worker.static_shards',
    optionalText,
    undefined,
    'Without ZooKeeper: the shards this worker owns ("all" or "0-7,9").',
  ),

  // --- security: TLS and authentication (secrets may come from <VARIABLE>_FILE) -------------------
  kafkaSsl: setting('SLUICE_KAFKA_SSL', 'kafka.ssl', flag, false, 'Connect to Kafka over TLS.'),
  kafkaCaFile: setting(
    'SLUICE_KAFKA_CA_FILE',
    'kafka.ca_file',
    optionalText,
    undefined,
    'CA certificate (PEM) for Kafka TLS.',
  ),
  kafkaSaslMechanism: setting(
    'SLUICE_KAFKA_SASL_MECHANISM',
    'kafka.sasl_mechanism',
    z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']),
    'none',
    'Kafka SASL mechanism.',
  ),
  kafkaSaslUsername: setting(
    'SLUICE_KAFKA_SASL_USERNAME',
    'kafka.sasl_username',
    optionalText,
    undefined,
    'Kafka SASL user.',
  ),
  kafkaSaslPassword: setting(
    'SLUICE_KAFKA_SASL_PASSWORD',
    'kafka.sasl_password',
    optionalText,
    undefined,
    'Kafka SASL password.',
    true,
  ),
  esApiKey: setting(
    'SLUICE_ES_API_KEY',
    'es.api_key',
    optionalText,
    undefined,
    'Elasticsearch API key (encoded).',
    true,
  ),
  esUsername: setting(
    'SLUICE_ES_USERNAME',
    'es.username',
    optionalText,
    undefined,
    'Elasticsearch basic-auth user.',
  ),
  esPassword: setting(
    'SLUICE_ES_PASSWORD',
    'es.password',
    optionalText,
    undefined,
    'Elasticsearch basic-auth password.',
    true,
  ),
  esCaFile: setting(
    'SLUICE_ES_CA_FILE',
    'es.ca_file',
    optionalText,
    undefined,
    'CA certificate (PEM) for https Elasticsearch.',
  ),
  redisCaFile: setting(
    'SLUICE_REDIS_CA_FILE',
    'redis.ca_file',
    optionalText,
    undefined,
    'CA certificate (PEM) for Redis over TLS (rediss:// URLs). User and password go in the URL.',
  ),
  metaMysqlCaFile: setting(
    'SLUICE_META_MYSQL_CA_FILE',
    'meta.mysql_ca_file',
    optionalText,
    undefined,
    'CA certificate (PEM): connect to the metadata MySQL over TLS.',
  ),
  zkDigest: setting(
    'SLUICE_ZK_DIGEST',
    'zookeeper.digest',
    optionalText,
    undefined,
    'ZooKeeper digest credentials "user:password"; the nodes Sluice creates then get a digest ACL.',
    true,
  ),
  adminToken: setting(
    'SLUICE_ADMIN_TOKEN',
    'http.admin_token',
    optionalText,
    undefined,
    'Bearer token for the POST /admin/* actions (disabled without one).',
    true,
  ),
} as const;

export type SettingName = keyof typeof SETTINGS;
export type SettingValues = {
  [K in SettingName]: (typeof SETTINGS)[K] extends SettingSpec<infer T> ? T : never;
};

/** How messages name a setting: its variable and its file key, "SLUICE_SHARDS (shards)". */
export function settingLabel(name: SettingName): string {
  const spec: SettingSpec<unknown> = SETTINGS[name];
  return `${spec.env} (${spec.key})`;
}

/** The value of an optional setting that a command needs; a ConfigError naming it when unset. */
export function requiredSetting<K extends SettingName>(
  settings: SettingValues,
  name: K,
  by: string,
): NonNullable<SettingValues[K]> {
  const value = settings[name];
  if (value === undefined || value === null || value === '') {
    throw new ConfigError(settingLabel(name), `is required by ${by}`);
  }
  return value as NonNullable<SettingValues[K]>;
}
