// A private Sluice deployment on the shared stack for one test: its own source database, metadata
// database, Redis prefix, cluster name, consumer group and index prefix, all removed afterwards.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkTables, isClean, type TableDiff } from '@sluice/checker';
import { Mapping } from '@sluice/core';
import type { EsApi } from '@sluice/sink';
import mysql, { type Connection, type ConnectionOptions, type RowDataPacket } from 'mysql2/promise';
import { deleteIndicesByPrefix, openEs } from './elastic.ts';
import { createTestDatabase, serverUrl } from './mysql.ts';
import { deleteKeys, openRedis, openStreamRedis } from './redis.ts';
import { type Launcher, type ServiceCommand, type ServiceProcess, startService } from './services.ts';
import { stack } from './stack.ts';
import { uniqueName, waitFor } from './wait.ts';

export interface Pipeline {
  id: string;
  database: string;
  indexPrefix: string;
  env: Record<string, string>;
  sourceUrl: string;
  metaUrl: string;
  mapping: Mapping;
  mappingFile: string;
  /** Rewrites the mapping file (services read it at start) and the mapping the checks use. */
  setMapping(doc: Record<string, unknown>): void;
  es: EsApi;
  /**
   * A connection to the source server on this pipeline's database, which it creates if need be
   * (utf8mb4); `options` go to mysql2 (e.g. dateStrings). The caller ends it.
   */
  openSource(options?: Omit<ConnectionOptions, 'uri' | 'database'>): Promise<Connection>;
  /** One query on the pipeline's metadata database (its own connection, closed afterwards). */
  queryMeta<T extends RowDataPacket = RowDataPacket>(sql: string, params?: unknown[]): Promise<T[]>;
  services: ServiceProcess[];
  /** Where ingest reads changes: Kafka (Canal's Kafka mode), or the Redis Streams of a relay. */
  source: PipelineSource;
  /** The relay of a redis-stream pipeline (started with the pipeline, before any statement). */
  relay: ServiceProcess | undefined;
  /** Starts the relay again (after a stop or a kill). */
  restartRelay(extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  start(
    kind: ServiceCommand,
    name?: string,
    extraEnv?: Record<string, string>,
    launcher?: Launcher,
  ): Promise<ServiceProcess>;
  check(tables: readonly string[]): Promise<TableDiff[]>;
  waitConverged(tables: readonly string[], timeoutMs?: number): Promise<TableDiff[]>;
  indexStats(table: string): Promise<{ indexTotal: number; deleteTotal: number }>;
  close(): Promise<void>;
}

export type PipelineSource = 'kafka' | 'redis-stream';
export const PIPELINE_SOURCES: readonly PipelineSource[] = ['kafka', 'redis-stream'];

export interface PipelineOptions {
  /**
   * kafka (default): Canal's Kafka mode → ingest. redis-stream: the stack's TCP-mode Canal →
   * `sluice relay` (subscribed to this pipeline's database only, started at once) → the streams in
   * the stack's stream Redis → ingest with SLUICE_SOURCE=redis-stream.
   */
  source?: PipelineSource;
  /** SLUICE_* settings over the defaults of a test deployment. */
  env?: Record<string, string>;
  /** The mapping file's content for this database (default: every table of it, nothing else). */
  mapping?: (database: string) => Record<string, unknown>;
}

export async function createPipeline(options: PipelineOptions = {}): Promise<Pipeline> {
  const overrides = options.env ?? {};
  const id = uniqueName('e2e').toLowerCase();
  const database = id;
  const indexPrefix = `${id.replaceAll('_', '-')}-`;
  const meta = await createTestDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-e2e-'));
  const mappingDoc = options.mapping?.(database) ?? {
    unmapped: 'ignore',
    tables: { [`${database}.*`]: null },
  };
  const mappingFile = join(dir, 'mapping.json');
  writeFileSync(mappingFile, JSON.stringify(mappingDoc));
  const s = stack();
  const source = new URL(s.sourceMysqlUrl);
  source.pathname = `/${database}`;
  const env: Record<string, string> = {
    SLUICE_CLUSTER: id.replaceAll('_', '-'),
    SLUICE_REDIS_PREFIX: id,
    SLUICE_KAFKA_GROUP: id,
    SLUICE_KAFKA_FROM_BEGINNING: 'false',
    SLUICE_META_MYSQL_URL: meta.url,
    SLUICE_MAPPING_FILE: mappingFile,
    SLUICE_ES_INDEX_PREFIX: indexPrefix,
    SLUICE_ES_REPLICAS: '0',
    SLUICE_SOURCE_MYSQL_URL: source.toString(),
    ...(options.source === 'redis-stream'
      ? {
          SLUICE_SOURCE: 'redis-stream',
          SLUICE_STREAM_REDIS_URL: s.streamRedisUrl,
          SLUICE_CANAL_ADDRESS: s.canalTcpAddress,
          SLUICE_CANAL_DESTINATION: s.canalTcpDestination,
          SLUICE_CANAL_USER: 'canal',
          SLUICE_CANAL_PASSWORD: 'canal',
          // Canal applies a filter to what it parses from then on: set before the first statement
          SLUICE_CANAL_FILTER: `${database}\\..*`,
        }
      : {}),
    ...overrides,
  };
  const es = await openEs();
  let mapping = new Mapping(mappingDoc, indexPrefix);
  const services: ServiceProcess[] = [];
  let counter = 0;

  const pipeline: Pipeline = {
    id,
    database,
    indexPrefix,
    env,
    sourceUrl: source.toString(),
    metaUrl: meta.url,
    get mapping() {
      return mapping;
    },
    mappingFile,
    setMapping(doc) {
      writeFileSync(mappingFile, JSON.stringify(doc));
      mapping = new Mapping(doc, indexPrefix);
    },
    es,
    async openSource(options = {}) {
      const db = await mysql.createConnection({ ...options, uri: serverUrl(s.sourceMysqlUrl) });
      try {
        await db.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4`);
        await db.changeUser({ database });
      } catch (error) {
        await db.end();
        throw error;
      }
      return db;
    },
    async queryMeta<T extends RowDataPacket>(sql: string, params: unknown[] = []) {
      const db = await mysql.createConnection(meta.url);
      try {
        const [rows] = await db.query<T[]>(sql, params);
        return rows;
      } finally {
        await db.end();
      }
    },
    services,
    source: options.source ?? 'kafka',
    relay: undefined,
    async restartRelay(extraEnv = {}) {
      pipeline.relay = await pipeline.start('relay', `relay-${++counter}`, extraEnv);
      return pipeline.relay;
    },
    async start(kind, name, extraEnv = {}, launcher = undefined) {
      const service = await startService(
        name ?? `${kind}-${++counter}`,
        kind,
        { ...env, ...extraEnv },
        launcher ? { launcher } : {},
      );
      services.push(service);
      return service;
    },
    async check(tables) {
      const db = await mysql.createConnection({ uri: s.sourceMysqlUrl, supportBigNumbers: true });
      try {
        return await checkTables(
          db,
          es,
          mapping,
          tables.map((t) => `${database}.${t}`),
        );
      } finally {
        await db.end();
      }
    },
    async waitConverged(tables, timeoutMs = 180_000) {
      let last: TableDiff[] = [];
      try {
        return await waitFor(
          'every table to equal its index',
          async () => {
            await es.request({ method: 'POST', path: `/${indexPrefix}*/_refresh` }, { ignore: [404] });
            last = await pipeline.check(tables);
            return last.length === tables.length && last.every(isClean) ? last : undefined;
          },
          { timeoutMs, intervalMs: 2000 },
        );
      } catch (error) {
        const summary = last.map((d) => ({
          table: d.table,
          rows: d.rows,
          docs: d.docs,
          missing: d.missing.slice(0, 5),
          stale: d.stale.slice(0, 5),
          extra: d.extra.slice(0, 5),
        }));
        throw new Error(`${(error as Error).message}; last check: ${JSON.stringify(summary)}`);
      }
    },
    async indexStats(table) {
      const index = mapping.defaultIndex(database, table);
      const response = await es.request<{
        _all: { primaries: { indexing: { index_total: number; delete_total: number } } };
      }>({
        method: 'GET',
        path: `/${index}/_stats/indexing`,
      });
      const indexing = response.body._all.primaries.indexing;
      return { indexTotal: indexing.index_total, deleteTotal: indexing.delete_total };
    },
    async close() {
      await Promise.all(services.map((service) => service.stop('SIGTERM').catch(() => service.kill9())));
      await deleteIndicesByPrefix(es, indexPrefix).catch(() => undefined);
      await es.close();
      const redis = openRedis();
      await deleteKeys(redis, id);
      await redis.quit();
      if (pipeline.source === 'redis-stream') {
        const streams = openStreamRedis();
        await deleteKeys(streams, id);
        await streams.quit();
      }
      const db = await mysql.createConnection(s.sourceMysqlUrl);
      await db.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await db.end();
      await meta.drop();
    },
  };
  if (pipeline.source === 'redis-stream') await pipeline.restartRelay();
  return pipeline;
}
