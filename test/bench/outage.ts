// `npm run bench:outage` — how fast freshness comes back after an Elasticsearch outage under load.
// One ingest and one worker on the local stack; Canal-format messages produced straight to Kafka at
// a steady rate (4 tables, Zipf keys) and a canary row updated every 250 ms; Elasticsearch stopped
// for BENCH_OUTAGE_SECONDS (60) and started again. The canary's document is read every 200 ms (a
// realtime GET); the index's age = now − the time its newest canary value was produced. Recovery =
// from Elasticsearch answering again until the age is back under window + 2 s for good (the rest of
// the run). Prints the figures and rewrites the "outage" section of docs/benchmarks.md.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { RedisBuffer } from '@sluice/buffer';
import { FlatMessageGenerator } from '@sluice/loadgen';
import type { Producer } from 'kafkajs';
import { deleteIndicesByPrefix, openEs } from '../support/elastic.ts';
import { createTopic, deleteTopic, kafkaClient } from '../support/kafka.ts';
import { createTestDatabase } from '../support/mysql.ts';
import { deleteKeys, openRedis } from '../support/redis.ts';
import { SERVICE_NODE_OPTIONS, type ServiceProcess, startService } from '../support/services.ts';
import { stack, stackScript } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';
import { benchEnv } from './measure.ts';
import { machine, writeSection } from './report.ts';

const run = promisify(execFile);
const settings = {
  rate: Number(process.env.BENCH_RATE ?? 3000),
  outageSeconds: Number(process.env.BENCH_OUTAGE_SECONDS ?? 60),
  beforeSeconds: 20,
  afterSeconds: Number(process.env.BENCH_AFTER_SECONDS ?? 60),
  tables: 4,
  keys: 10_000,
  partitions: 6,
  windowMs: 3000,
};
const s = stack();
const id = uniqueName('outage').toLowerCase();
const topic = `bench.${id}`;
const database = `bench_${id}`;
const indexPrefix = `${id.replaceAll('_', '-')}-`;
const kafka = kafkaClient('sluice-bench-outage');
const redis = openRedis();
const meta = await createTestDatabase();
const say = (text: string) => process.stdout.write(`${text}\n`);
const env = benchEnv(id, topic, meta.url, { SLUICE_WINDOW_MS: String(settings.windowMs) });
const services: ServiceProcess[] = [];

/** Produces the load and the canary until stopped; the canary's production times by rev. */
function load(producer: Producer) {
  const generator = new FlatMessageGenerator({
    database,
    tables: Array.from({ length: settings.tables }, (_, i) => `t${i}`),
    keysPerTable: settings.keys,
    zipfS: 1.1,
    partitions: settings.partitions,
    seed: 3,
  });
  const canary = new FlatMessageGenerator({
    database,
    tables: ['canary'],
    keysPerTable: 1,
    zipfS: 0,
    partitions: settings.partitions,
    seed: 4,
    deleteShare: 0,
  });
  const producedAt = new Map<number, number>();
  let stopped = false;
  let sent = 0;
  const started = Date.now();
  const loop = (async () => {
    let nextCanary = Date.now();
    while (!stopped) {
      const due = Math.floor(((Date.now() - started) / 1000) * settings.rate) - sent;
      const batch = Array.from({ length: Math.max(0, Math.min(due, 2000)) }, () => generator.next());
      if (Date.now() >= nextCanary) {
        const m = canary.next();
        producedAt.set(m.rev, Date.now());
        batch.push(m);
        nextCanary += 250;
      }
      if (batch.length > 0)
        await producer.send({
          topic,
          acks: -1,
          messages: batch.map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
        });
      sent += batch.filter((m) => m.table !== 'canary').length;
      await sleep(20);
    }
  })();
  return {
    producedAt,
    sent: () => sent,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

try {
  await createTopic(topic, settings.partitions);
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  services.push(await startService('outage-worker', 'worker', env));
  services.push(await startService('outage-ingest', 'ingest', env));
  const traffic = load(producer);
  const es = await openEs();
  const canaryIndex = `${indexPrefix}${database}.canary`;
  const samples: Array<{ at: number; age: number | null }> = [];
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const at = Date.now();
      const rev = await fetch(`${s.esUrl}/${canaryIndex}/_doc/1`, { signal: AbortSignal.timeout(1000) })
        .then(async (r) =>
          r.ok ? Number(((await r.json()) as { _source: { rev: string } })._source.rev) : null,
        )
        .catch(() => null);
      const produced = rev === null ? undefined : traffic.producedAt.get(rev);
      samples.push({ at, age: produced === undefined ? null : (at - produced) / 1000 });
      await sleep(200);
    }
  })();
  const buffer = new RedisBuffer(redis, { prefix: id, cluster: env.SLUICE_CLUSTER as string, shards: 16 });
  say(`load at ${settings.rate} changes/s; ${settings.beforeSeconds} s before the outage`);
  await sleep(settings.beforeSeconds * 1000);
  const steadyAges = samples.filter((x) => x.age !== null).map((x) => x.age as number);
  say(`Elasticsearch stopped for ${settings.outageSeconds} s`);
  await run('bash', [stackScript, 'down', 'elasticsearch']);
  const downAt = Date.now();
  await sleep(settings.outageSeconds * 1000);
  const pendingAtEnd = await buffer.totalPending();
  await run('bash', [stackScript, 'up', 'elasticsearch'], { timeout: 300_000 });
  const upAt = await waitFor(
    'Elasticsearch to answer',
    async () =>
      (await fetch(`${s.esUrl}/_cluster/health`).catch(() => undefined))?.ok ? Date.now() : undefined,
    { timeoutMs: 300_000, intervalMs: 100 },
  );
  // stack.sh returns once Elasticsearch answers: the time it took counts as outage, not recovery
  say(
    `Elasticsearch answers again ${((upAt - downAt) / 1000).toFixed(1)} s after it stopped; ${pendingAtEnd} records buffered`,
  );
  await sleep(settings.afterSeconds * 1000);
  watching = false;
  await watch;
  await traffic.stop();
  await producer.disconnect();
  await es.close();

  const bound = settings.windowMs / 1000 + 2;
  const after = samples.filter((x) => x.at >= upAt);
  // the last sample over the bound (or without a canary yet): recovery is the first one after it
  let lastBad = -1;
  after.forEach((x, i) => {
    if (x.age === null || x.age >= bound) lastBad = i;
  });
  const recovered = after[lastBad + 1];
  const recovery = recovered ? (recovered.at - upAt) / 1000 : Number.NaN;
  const worst = Math.max(...samples.filter((x) => x.age !== null).map((x) => x.age as number));
  const sorted = [...steadyAges].sort((a, b) => a - b);
  const steadyP99 = sorted[Math.floor(sorted.length * 0.99)] ?? Number.NaN;
  say(
    `recovered ${recovery.toFixed(1)} s after Elasticsearch answered (target ≤ 15 s); before the outage the age p99 was ${steadyP99.toFixed(1)} s; worst ${worst.toFixed(1)} s`,
  );
  writeSection(
    'outage',
    `## After an Elasticsearch outage (\`npm run bench:outage\`, test/bench/outage.ts)

Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; Elasticsearch ${s.esMajor}.x; one ingest and one worker (NODE_OPTIONS
\`${SERVICE_NODE_OPTIONS}\`), window ${settings.windowMs} ms; ${settings.rate} changes/s over ${settings.tables} tables × ${settings.keys} Zipf(1.1)
keys produced to Kafka throughout, and a canary row updated every 250 ms whose document is read
every 200 ms (realtime GET). Elasticsearch stopped for ${settings.outageSeconds} s, then started again (\`stack.sh up
elasticsearch\`: the JVM's start counts as outage). The index's age = now − when its newest canary
value was produced.

| figure | measured | target |
|---|---|---|
| age of the index before the outage, p99 | ${steadyP99.toFixed(1)} s | |
| records buffered when Elasticsearch came back | ${pendingAtEnd} | |
| Elasticsearch answering again → age under window + 2 s = ${bound} s for good | ${recovery.toFixed(1)} s | ≤ 15 s |
| worst age (the outage itself) | ${worst.toFixed(1)} s | |
`,
  );
  say('results written to docs/benchmarks.md');
} finally {
  await Promise.all(services.map((service) => service.stop().catch(() => service.kill9())));
  await run('bash', [stackScript, 'up', 'elasticsearch'], { timeout: 300_000 }).catch(() => undefined);
  await deleteTopic(topic);
  await deleteKeys(redis, id);
  await redis.quit();
  const es = await openEs();
  await deleteIndicesByPrefix(es, indexPrefix).catch(() => undefined);
  await es.close();
  await meta.drop();
}
