// `npm run bench:pipeline` — the pipeline's throughput, write reduction, freshness and memory, with
// Canal-format messages produced straight to Kafka (Zipf-distributed keys over several tables), one
// ingest and one worker as real processes on the local stack. Prints the figures and rewrites the
// "pipeline" section of docs/benchmarks.md. A benchmark, not a test: nothing here asserts a figure.
//
//   A. baseline: kafkajs consume-and-discard of N messages (same batch/commit pattern as ingest)
//   B. ingest alone over the same N messages: events/s with Redis and the MySQL backup written
//      (no worker, so the buffer ends holding every distinct row: Redis bytes per buffered record)
//   C. worker + ingest with messages produced at a steady rate: docs written per change, freshness
//      (the message's `es` = production time → bulk acknowledged), peak RSS of both services
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisBuffer } from '@sluice/buffer';
import { FlatMessageGenerator } from '@sluice/loadgen';
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
import { committed } from './measure.ts';
import { machine, peakRss, writeSection } from './report.ts';

const settings = {
  messages: Number(process.env.BENCH_MESSAGES ?? 300_000),
  rate: Number(process.env.BENCH_RATE ?? 5000),
  seconds: Number(process.env.BENCH_SECONDS ?? 60),
  tables: 4,
  keysPerTable: Number(process.env.BENCH_KEYS ?? 10_000),
  zipfS: 1.1,
  partitions: 6,
  windowMs: 3000,
  batchSize: 1000,
};

const s = stack();
const id = uniqueName('bench').toLowerCase();
const topic = `bench.${id}`;
const database = `bench_${id}`;
const kafka = kafkaClient('sluice-bench');
const redis = openRedis();
const meta = await createTestDatabase();
const env: Record<string, string> = {
  SLUICE_KAFKA_TOPICS: topic,
  SLUICE_KAFKA_GROUP: `${id}-ingest`,
  SLUICE_KAFKA_FROM_BEGINNING: 'true',
  SLUICE_CLUSTER: id.replaceAll('_', '-'),
  SLUICE_REDIS_PREFIX: id,
  SLUICE_META_MYSQL_URL: meta.url,
  SLUICE_ES_INDEX_PREFIX: `${id.replaceAll('_', '-')}-`,
  SLUICE_ES_REPLICAS: '0',
  SLUICE_WINDOW_MS: String(settings.windowMs),
  SLUICE_BATCH_SIZE: String(settings.batchSize),
  SLUICE_BUFFER_HIGH_WATERMARK: '10000000',
  SLUICE_BUFFER_LOW_WATERMARK: '5000000',
  SLUICE_LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
};
const services: ServiceProcess[] = [];
const say = (text: string) => process.stdout.write(`${text}\n`);

async function produce(count: number, perSecond?: number): Promise<{ produced: number; seconds: number }> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const next = messages();
  const started = Date.now();
  let produced = 0;
  const chunk = perSecond ? Math.max(1, Math.round(perSecond / 20)) : 2000;
  while (produced < count) {
    const size = Math.min(chunk, count - produced);
    const byPartition = new Map<number, Array<{ value: string }>>();
    for (let i = 0; i < size; i++) {
      const m = next();
      const list = byPartition.get(m.partition) ?? [];
      list.push({ value: m.value });
      byPartition.set(m.partition, list);
    }
    await producer.sendBatch({
      acks: -1,
      topicMessages: [...byPartition].map(([partition, messages]) => ({
        topic,
        messages: messages.map((m) => ({ ...m, partition })),
      })),
    });
    produced += size;
    if (perSecond) {
      const due = started + (produced / perSecond) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
    }
  }
  await producer.disconnect();
  return { produced, seconds: (Date.now() - started) / 1000 };
}

async function baseline(total: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${id}-raw`, maxBytesPerPartition: 4 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  let seen = 0;
  let first = 0;
  let last = 0;
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (!first) first = Date.now();
      const end = batch.messages[batch.messages.length - 1];
      if (!end) return;
      for (const message of batch.messages) void message.value?.length;
      resolveOffset(end.offset);
      await consumer.commitOffsets([
        { topic, partition: batch.partition, offset: String(BigInt(end.offset) + 1n) },
      ]);
      await heartbeat();
      seen += batch.messages.length;
      last = Date.now();
    },
  });
  await waitFor('the baseline consumer to read everything', () => (seen >= total ? true : undefined), {
    timeoutMs: 600_000,
  });
  await consumer.disconnect();
  return total / ((last - first) / 1000);
}

/** The seeded message stream of the benchmark (each producer starts it over from the beginning). */
function messages(): () => { partition: number; value: string } {
  const generator = new FlatMessageGenerator({
    database,
    tables: Array.from({ length: settings.tables }, (_, i) => `t${i}`),
    keysPerTable: settings.keysPerTable,
    zipfS: settings.zipfS,
    partitions: settings.partitions,
    seed: 11,
  });
  return () => generator.next();
}

/**
 * The fewest writes any window-based deduplication could make for phase C's stream: the number of
 * distinct rows per window, replaying the same seeded sequence (phase C's producer starts it over)
 * at the same rate.
 */
function idealWrites(count: number, perSecond: number, windowMs: number): number {
  const next = messages();
  const perWindow = Math.max(1, Math.round((perSecond * windowMs) / 1000));
  let total = 0;
  let rows = new Set<string>();
  for (let i = 0; i < count; i++) {
    const m = JSON.parse(next().value) as { table: string; data: Array<{ id: string }> };
    rows.add(`${m.table}|${m.data[0]?.id}`);
    if ((i + 1) % perWindow === 0) {
      total += rows.size;
      rows = new Set();
    }
  }
  return total + rows.size;
}

async function pendingTotal(buffer: RedisBuffer): Promise<number> {
  return (await buffer.stats()).reduce((sum, st) => sum + st.pending, 0);
}

async function averageDocBytes(buffer: RedisBuffer): Promise<number> {
  let bytes = 0;
  let n = 0;
  for (let shard = 0; shard < 16 && n < 2000; shard++) {
    for (const record of await buffer.takeDue(shard, 500)) {
      if (record.op === 'delete') continue;
      bytes += Buffer.byteLength(record.json);
      n++;
    }
  }
  return n ? bytes / n : 0;
}

async function redisUsedMemory(): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

try {
  await createTopic(topic, settings.partitions);

  say(`A. producing ${settings.messages} messages, then consuming them with kafkajs and discarding them`);
  const loaded = await produce(settings.messages);
  const rawRate = await baseline(settings.messages);
  say(
    `   produced at ${Math.round(loaded.produced / loaded.seconds)}/s; raw consume ${Math.round(rawRate)}/s`,
  );

  say('B. ingest alone over the same messages');
  const buffer = new RedisBuffer(redis, { prefix: id, cluster: env.SLUICE_CLUSTER as string, shards: 16 });
  const memoryBefore = await redisUsedMemory();
  const ingestEnv =
    process.env.BENCH_NODE_OPTIONS !== undefined
      ? { ...env, NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }
      : env;
  const ingest = await startService('bench-ingest', 'ingest', ingestEnv, { ready: false });
  services.push(ingest);
  const ingestRun = await peakRss(ingest.child.pid as number, async () => {
    const started = Date.now();
    await waitFor(
      'ingest to commit every message',
      async () =>
        (await committed(kafka, env.SLUICE_KAFKA_GROUP as string, topic)) >= settings.messages
          ? true
          : undefined,
      {
        timeoutMs: 900_000,
        intervalMs: 100,
      },
    );
    return (Date.now() - started) / 1000;
  });
  const ingestRate = settings.messages / ingestRun.value;
  const buffered = await pendingTotal(buffer);
  const memoryPerRecord = ((await redisUsedMemory()) - memoryBefore) / buffered;
  const docBytes = await averageDocBytes(buffer);
  say(
    `   ${Math.round(ingestRate)}/s (${(ingestRate / rawRate).toFixed(2)}× raw); ${buffered} rows buffered, ${Math.round(memoryPerRecord)} B of Redis each (document ${Math.round(docBytes)} B); ingest peak RSS ${Math.round(ingestRun.peakMiB)} MiB`,
  );

  if (process.env.BENCH_ONLY !== 'ingest') {
    say(`C. worker + ingest, ${settings.rate} changes/s for ${settings.seconds} s`);
    const drain = await startService('bench-worker-drain', 'worker', env);
    services.push(drain);
    await waitFor(
      'the backlog to be flushed',
      async () => ((await pendingTotal(buffer)) === 0 ? true : undefined),
      { timeoutMs: 600_000, intervalMs: 500 },
    );
    await drain.stop();
    const worker = await startService('bench-worker', 'worker', env);
    services.push(worker);
    const ingestBefore = sumSamples(await metricsText(ingest), 'sluice_ingest_messages_total');
    const steady = await peakRss(worker.child.pid as number, () =>
      peakRss(ingest.child.pid as number, async () => {
        const sent = await produce(settings.rate * settings.seconds, settings.rate);
        await waitFor(
          'ingest to catch up',
          async () =>
            (await committed(kafka, env.SLUICE_KAFKA_GROUP as string, topic)) >=
            settings.messages + sent.produced
              ? true
              : undefined,
          {
            timeoutMs: 600_000,
            intervalMs: 200,
          },
        );
        await waitFor(
          'the buffer to drain',
          async () => ((await pendingTotal(buffer)) === 0 ? true : undefined),
          { timeoutMs: 600_000, intervalMs: 200 },
        );
        return sent;
      }),
    );
    const sent = steady.value.value;
    const ideal = idealWrites(sent.produced, settings.rate, settings.windowMs);
    const workerText = await metricsText(worker);
    const ingested = sumSamples(await metricsText(ingest), 'sluice_ingest_messages_total') - ingestBefore;
    const written = sumSamples(workerText, 'sluice_flush_docs_total', { result: 'written' });
    const quantile = (q: string) =>
      sumSamples(workerText, 'sluice_sync_latency_recent_seconds', { quantile: q });
    const fresh = { p50: quantile('0.5'), p99: quantile('0.99'), max: quantile('1') };
    const achieved = sent.produced / sent.seconds;
    say(
      `   produced ${sent.produced} at ${Math.round(achieved)}/s; ${written} docs written (${(written / ingested).toFixed(3)} per change)`,
    );
    say(`   fewest possible: ${ideal} writes (${(ideal / sent.produced).toFixed(3)} per change)`);
    say(
      `   freshness p50 ${fresh.p50.toFixed(2)} s, p99 ${fresh.p99.toFixed(2)} s, max ${fresh.max.toFixed(2)} s`,
    );
    say(
      `   peak RSS: ingest ${Math.round(Math.max(ingestRun.peakMiB, steady.value.peakMiB))} MiB, worker ${Math.round(steady.peakMiB)} MiB`,
    );

    const row = (what: string, figure: string, target: string) => `| ${what} | ${figure} | ${target} |`;
    writeSection(
      'pipeline',
      `## Pipeline (\`npm run bench:pipeline\`, test/bench/pipeline.ts)

Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; Elasticsearch ${s.esMajor}.x, Kafka topic of
${settings.partitions} partitions, ${settings.tables} tables × ${settings.keysPerTable} keys, keys Zipf(${settings.zipfS}),
one row per message (10 % inserts, 85 % updates, 5 % deletes), services run with NODE_OPTIONS
\`${SERVICE_NODE_OPTIONS}\` (as in deploy/k8s), window ${settings.windowMs} ms, batch
${settings.batchSize}. Phases A/B over ${settings.messages} messages; phase C at ${settings.rate} changes/s for
${settings.seconds} s. One ingest and one worker process.

| figure | measured | target |
|---|---|---|
${row('raw kafkajs consume-and-discard', `${Math.round(rawRate)} msg/s`, '(baseline)')}
${row('ingest (Redis + MySQL backup durable, then commit)', `${Math.round(ingestRate)} msg/s = ${(ingestRate / rawRate).toFixed(2)}× raw`, '≥ 0.5× raw')}
${row('Elasticsearch docs written per change (phase C)', `${(written / ingested).toFixed(3)} (${written} / ${ingested})`, '≤ 0.2')}
${row('… fewest possible with one write per row per window', `${(ideal / sent.produced).toFixed(3)} (${ideal} distinct rows per ${settings.windowMs / 1000} s window)`, '(bound by the workload)')}
${row('freshness p50 / p99 / max (phase C)', `${fresh.p50.toFixed(2)} / ${fresh.p99.toFixed(2)} / ${fresh.max.toFixed(2)} s`, `p99 ≤ ${(settings.windowMs / 1000 + 1.5).toFixed(1)} s`)}
${row('rate sustained in phase C', `${Math.round(achieved)} changes/s`, `${settings.rate}`)}
${row('Redis memory per buffered record', `${Math.round(memoryPerRecord)} B (document ${Math.round(docBytes)} B)`, `≤ 2 × doc + 200 = ${Math.round(2 * docBytes + 200)} B`)}
${row('peak RSS ingest / worker', `${Math.round(Math.max(ingestRun.peakMiB, steady.value.peakMiB))} / ${Math.round(steady.peakMiB)} MiB`, '≤ 300 MiB each')}
`,
    );
    say('results written to docs/benchmarks.md');
  }
} finally {
  await Promise.all(services.map((service) => service.stop().catch(() => service.kill9())));
  await deleteTopic(topic);
  await deleteKeys(redis, id);
  await redis.quit();
  const es = await openEs();
  await deleteIndicesByPrefix(es, env.SLUICE_ES_INDEX_PREFIX as string).catch(() => undefined);
  await es.close();
  await meta.drop();
}
