// `npm run bench:busy` — end to end against Elasticsearch's own ceiling, in one run on one node:
//
//   1. one busy table: a backlog of Canal messages for one table (uniform keys, so most rows change
//      about three times) in Kafka, then one worker and one ingest started; timed from the ingest's
//      start until every row's last change is acknowledged by Elasticsearch (the buffer empty and
//      every message committed), and the first document;
//   2. many tables: the same number of messages and keys over 16 tables (spread over the topic's
//      partitions and the shards);
//   3. the ceiling: the documents Sluice wrote in 1, read back, bulk-indexed again into an index with
//      the same mappings and settings from one client, in bulks of SLUICE_BATCH_SIZE with external
//      versions — what this Elasticsearch takes from one client, nothing else in between.
//
// Each run ends with an exact comparison of the index with the generator's expected final state.
// Prints the figures and rewrites the "busy" section of docs/benchmarks.md. A benchmark, not a test.
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisBuffer } from '@sluice/buffer';
import { FlatMessageGenerator } from '@sluice/loadgen';
import type { EsApi } from '@sluice/sink';
import { deleteIndicesByPrefix, openEs } from '../support/elastic.ts';
import { createTopic, deleteTopic, kafkaClient } from '../support/kafka.ts';
import { createTestDatabase } from '../support/mysql.ts';
import { deleteKeys, openRedis } from '../support/redis.ts';
import {
  metricsText,
  SERVICE_NODE_OPTIONS,
  type ServiceProcess,
  startService,
  sumSamples,
} from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';
import { benchEnv, committed, cpuSeconds, cpuSince, machineCpu, produceBacklog } from './measure.ts';
import { machine, writeSection } from './report.ts';

const settings = {
  messages: Number(process.env.BENCH_MESSAGES ?? 109_650),
  keys: Number(process.env.BENCH_KEYS ?? 40_000),
  partitions: 6,
  batchSize: 1000,
  windowMs: 3000,
};
const s = stack();
const kafka = kafkaClient('sluice-bench-busy');
const redis = openRedis();
const es = await openEs();
const say = (text: string) => process.stdout.write(`${text}\n`);
const cleanups: Array<() => Promise<void>> = [];

interface RunResult {
  name: string;
  tables: number;
  messages: number;
  docs: number;
  firstDocSeconds: number;
  seconds: number;
  docsPerSecond: number;
  cpu: { ingest: number; worker: number };
  /** CPU seconds of every program of the machine during the run. */
  machine: Record<string, number>;
  indexPrefix: string;
}

async function run(name: string, tables: number): Promise<RunResult> {
  const id = uniqueName(`busy${tables}`).toLowerCase();
  const topic = `bench.${id}`;
  const database = `bench_${id}`;
  const indexPrefix = `${id.replaceAll('_', '-')}-`;
  const meta = await createTestDatabase();
  const env = benchEnv(id, topic, meta.url, {
    SLUICE_WINDOW_MS: String(settings.windowMs),
    SLUICE_BATCH_SIZE: String(settings.batchSize),
    SLUICE_BUFFER_HIGH_WATERMARK: '10000000',
    SLUICE_BUFFER_LOW_WATERMARK: '5000000',
    SLUICE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
  });
  const services: ServiceProcess[] = [];
  cleanups.push(async () => {
    await Promise.all(services.map((service) => service.stop().catch(() => service.kill9())));
    await deleteTopic(topic);
    await deleteKeys(redis, id);
    await deleteIndicesByPrefix(es, indexPrefix).catch(() => undefined);
    await meta.drop();
  });

  await createTopic(topic, settings.partitions);
  const generator = new FlatMessageGenerator({
    database,
    tables: Array.from({ length: tables }, (_, i) => `t${i}`),
    keysPerTable: Math.ceil(settings.keys / tables),
    zipfS: 0,
    partitions: settings.partitions,
    seed: 7,
  });
  await produceBacklog(kafka, topic, () => generator.next(), settings.messages);
  const expected = generator.expected();
  const live = [...expected.values()].reduce(
    (n, rows) => n + [...rows.values()].filter((r) => r !== null).length,
    0,
  );
  say(`   ${settings.messages} messages for ${tables} table(s) in Kafka; ${live} rows at the end`);

  const buffer = new RedisBuffer(redis, { prefix: id, cluster: env.SLUICE_CLUSTER as string, shards: 16 });
  const worker = await startService(`busy-worker-${tables}`, 'worker', env);
  services.push(worker);
  const workerCpu0 = cpuSeconds(worker.child.pid as number);
  const machine0 = machineCpu();
  const started = Date.now();
  // BENCH_PROFILE_DIR: the ingest writes a CPU profile there when it stops (node --cpu-prof)
  const profile = process.env.BENCH_PROFILE_DIR;
  const nodeOptions = process.env.BENCH_NODE_OPTIONS ?? SERVICE_NODE_OPTIONS;
  const ingestEnv = {
    ...env,
    NODE_OPTIONS: profile ? `${nodeOptions} --cpu-prof --cpu-prof-dir=${profile}` : nodeOptions,
  };
  const ingest = await startService(`busy-ingest-${tables}`, 'ingest', ingestEnv, { ready: false });
  services.push(ingest);
  let firstDoc = 0;
  const firstWatch = (async () => {
    while (!firstDoc) {
      const text = await metricsText(worker).catch(() => '');
      if (sumSamples(text, 'sluice_flush_docs_total', { result: 'written' }) > 0) firstDoc = Date.now();
      else await sleep(50);
    }
  })();
  let ingestCpu = 0;
  await waitFor(
    'every change in the index',
    async () => {
      ingestCpu = cpuSeconds(ingest.child.pid as number) || ingestCpu;
      if ((await buffer.totalPending()) > 0) return undefined;
      return (await committed(kafka, env.SLUICE_KAFKA_GROUP as string, topic)) >= settings.messages
        ? true
        : undefined;
    },
    { timeoutMs: 600_000, intervalMs: 100 },
  );
  const seconds = (Date.now() - started) / 1000;
  const machineUse = cpuSince(machine0);
  await firstWatch;
  const workerCpu = cpuSeconds(worker.child.pid as number) - workerCpu0;
  await verify(indexPrefix, expected);
  const result: RunResult = {
    name,
    tables,
    messages: settings.messages,
    docs: live,
    firstDocSeconds: (firstDoc - started) / 1000,
    seconds,
    docsPerSecond: live / seconds,
    cpu: { ingest: ingestCpu, worker: workerCpu },
    machine: machineUse,
    indexPrefix,
  };
  say(
    `   ${name}: ${seconds.toFixed(1)} s to the last document (first after ${result.firstDocSeconds.toFixed(1)} s), ${Math.round(result.docsPerSecond)} docs/s; CPU ingest ${ingestCpu.toFixed(1)} s, worker ${workerCpu.toFixed(1)} s`,
  );
  const total = Object.values(machineUse).reduce((a, b) => a + b, 0);
  say(
    `   machine CPU during the run: ${total.toFixed(1)} s of ${(seconds * cpus().length).toFixed(1)} available (${JSON.stringify(machineUse)})`,
  );
  return result;
}

/** Every live row's document at its last rev, and no other document. */
async function verify(indexPrefix: string, expected: Map<string, Map<number, number | null>>): Promise<void> {
  await es.request({ method: 'POST', path: `/${indexPrefix}*/_refresh` });
  const seen = new Map<string, number>();
  for await (const hit of scan(es, `${indexPrefix}*`)) {
    // "<prefix><db>.<table>-sluice-<n>": the index behind the table's alias
    const table = /\.([^.]+?)(-sluice-\d+)?$/.exec(hit._index)?.[1];
    seen.set(`${table}|${hit._id}`, Number(hit._source.rev));
  }
  let wrong = 0;
  let want = 0;
  for (const [table, rows] of expected) {
    for (const [rowId, rev] of rows) {
      if (rev === null) continue;
      want++;
      if (seen.get(`${table}|${rowId}`) !== rev) wrong++;
    }
  }
  if (wrong > 0 || seen.size !== want) {
    say(
      `   e.g. ${JSON.stringify([...seen].slice(0, 3))} / ${JSON.stringify([...(expected.values().next().value ?? new Map())].slice(0, 3))}`,
    );
    throw new Error(`the index is not exact: ${wrong} rows wrong, ${seen.size} docs for ${want} rows`);
  }
}

interface Hit {
  _index: string;
  _id: string;
  _version?: number;
  _source: Record<string, unknown>;
}

async function* scan(client: EsApi, index: string, version = false): AsyncGenerator<Hit> {
  let response = await client.request<{ _scroll_id: string; hits: { hits: Hit[] } }>({
    method: 'POST',
    path: `/${index}/_search`,
    querystring: { scroll: '1m' },
    body: { size: 5000, version, sort: ['_doc'] },
  });
  while (response.body.hits.hits.length > 0) {
    yield* response.body.hits.hits;
    response = await client.request({
      method: 'POST',
      path: '/_search/scroll',
      body: { scroll: '1m', scroll_id: response.body._scroll_id },
    });
  }
  await client.request(
    { method: 'DELETE', path: '/_search/scroll', body: { scroll_id: response.body._scroll_id } },
    { ignore: [404] },
  );
}

/** The documents of a run bulk-indexed again, from one client, into a copy of its index. */
async function ceiling(from: RunResult): Promise<number> {
  const source = (
    await es.request<Record<string, { mappings: unknown; settings: { index: Record<string, unknown> } }>>({
      method: 'GET',
      path: `/${from.indexPrefix}*`,
    })
  ).body;
  const [name, spec] = Object.entries(source)[0] as [
    string,
    { mappings: unknown; settings: { index: Record<string, unknown> } },
  ];
  const target = `${from.indexPrefix}ceiling`;
  const keep = ['number_of_shards', 'number_of_replicas', 'refresh_interval', 'gc_deletes', 'mapping'];
  const indexSettings = Object.fromEntries(
    Object.entries(spec.settings.index).filter(([k]) => keep.includes(k)),
  );
  await es.request({
    method: 'PUT',
    path: `/${target}`,
    body: { mappings: spec.mappings, settings: { index: indexSettings } },
  });
  const docs: Hit[] = [];
  for await (const hit of scan(es, name, true)) docs.push(hit);
  const started = performance.now();
  for (let i = 0; i < docs.length; i += settings.batchSize) {
    const lines: string[] = [];
    for (const doc of docs.slice(i, i + settings.batchSize)) {
      lines.push(
        JSON.stringify({
          index: { _index: target, _id: doc._id, version: doc._version, version_type: 'external' },
        }),
      );
      lines.push(JSON.stringify(doc._source));
    }
    const response = await es.request<{ errors: boolean }>({
      method: 'POST',
      path: '/_bulk',
      bulkBody: `${lines.join('\n')}\n`,
    });
    if (response.body.errors) throw new Error('the ceiling bulk had errors');
  }
  const rate = docs.length / ((performance.now() - started) / 1000);
  say(
    `   ceiling: ${docs.length} documents from one client in bulks of ${settings.batchSize}: ${Math.round(rate)} docs/s`,
  );
  return rate;
}

try {
  say('1. one busy table');
  const single = await run('one busy table', 1);
  if (process.env.BENCH_ONLY === 'single') throw new Error('BENCH_ONLY=single: the other runs are skipped');
  say('2. many tables');
  const many = await run('16 tables', 16);
  say('3. the ceiling');
  const top = await ceiling(single);
  const machineOf = (r: RunResult) =>
    Object.entries(r.machine)
      .filter(([name]) => name !== 'other')
      .sort((a, b) => b[1] - a[1])
      .map(([name, sec]) => `${name} ${sec.toFixed(1)}`)
      .join(', ');
  const busy = (r: RunResult) => Object.values(r.machine).reduce((a, b) => a + b, 0) / r.seconds;
  const row = (r: RunResult) =>
    `| ${r.name} | ${r.messages} msgs → ${r.docs} docs | ${r.firstDocSeconds.toFixed(1)} s | ${r.seconds.toFixed(1)} s | ${Math.round(r.docsPerSecond)} docs/s = ${(r.docsPerSecond / top).toFixed(2)}× | ${busy(r).toFixed(2)} (${machineOf(r)}) |`;
  writeSection(
    'busy',
    `## One busy table against the Elasticsearch ceiling (\`npm run bench:busy\`, test/bench/busy-table.ts)

Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; Elasticsearch ${s.esMajor}.x, Kafka topic of
${settings.partitions} partitions, ${settings.messages} Canal messages of ~300 B rows over ${settings.keys} uniform keys
(10 % inserts, 85 % updates, 5 % deletes), produced before Sluice starts; one worker and one ingest
(NODE_OPTIONS \`${SERVICE_NODE_OPTIONS}\`), window ${settings.windowMs} ms, batch ${settings.batchSize}. Timed from the
ingest's start until every row's last change is acknowledged by Elasticsearch; each run is then
compared exactly with the generator's final state. The ceiling: the documents of the single-table
run read back and bulk-indexed again, from one client, in bulks of ${settings.batchSize} with external versions,
into an index with the same mappings and settings. This machine has ${cpus().length} cores.

| run | backlog | first document | last document | distinct docs/s (× ceiling) | cores busy over the run (CPU s per program) |
|---|---|---|---|---|---|
${row(single)}
${row(many)}
| ceiling (one client, bulks of ${settings.batchSize}) | ${single.docs} docs | | | ${Math.round(top)} docs/s | |

Target: ≥ 0.8× the ceiling for both runs (missed on this machine; why: "Where the time goes" in this file).
`,
  );
  say('results written to docs/benchmarks.md');
} finally {
  for (const cleanup of cleanups) await cleanup().catch((error: unknown) => say(`cleanup: ${String(error)}`));
  await redis.quit();
  await es.close();
}
