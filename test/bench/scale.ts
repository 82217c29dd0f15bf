// `npm run bench:scale` — scale-out on this machine: how much each process adds, and what
// coordination costs. Canal-format messages produced straight to Kafka (6 partitions, 16 tables,
// uniform keys) before Sluice starts, then:
//
//   ingest ×1, ×2: time until the group has committed every message (Redis buffer and MySQL backup
//                  durable), no worker running;
//   worker ×1, ×2, ×4: the buffer filled by one ingest first, then the workers started together;
//                  time until the buffer is empty (every row in Elasticsearch), and until every shard
//                  is owned by one of them;
//   then, with the workers idle: CPU of an idle member, and how long one more worker takes to be
//   given its share (the rebalance).
//
// Prints the figures and rewrites the "scale" section of docs/benchmarks.md.
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisBuffer } from '@sluice/buffer';
import { FlatMessageGenerator } from '@sluice/loadgen';
import { deleteIndicesByPrefix, openEs } from '../support/elastic.ts';
import { createTopic, deleteTopic, kafkaClient } from '../support/kafka.ts';
import { createTestDatabase } from '../support/mysql.ts';
import { deleteKeys, openRedis } from '../support/redis.ts';
import {
  SERVICE_NODE_OPTIONS,
  type ServiceProcess,
  startService,
  workerStatus,
} from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';
import { benchEnv, committed, cpuSeconds, cpuSince, machineCpu, produceBacklog } from './measure.ts';
import { machine, writeSection } from './report.ts';

const settings = {
  messages: Number(process.env.BENCH_MESSAGES ?? 200_000),
  tables: 16,
  keysPerTable: 5000,
  partitions: 6,
  windowMs: 3000,
};
const s = stack();
const kafka = kafkaClient('sluice-bench-scale');
const redis = openRedis();
const es = await openEs();
const say = (text: string) => process.stdout.write(`${text}\n`);
const cleanups: Array<() => Promise<void>> = [];

interface Deployment {
  env: Record<string, string>;
  topic: string;
  buffer: RedisBuffer;
  services: ServiceProcess[];
}

/** A deployment of its own (topic, metadata database, prefixes) with the backlog in Kafka. */
async function deployment(name: string): Promise<Deployment> {
  const id = uniqueName(name).toLowerCase();
  const topic = `bench.${id}`;
  const meta = await createTestDatabase();
  const indexPrefix = `${id.replaceAll('_', '-')}-`;
  const env = benchEnv(id, topic, meta.url, {
    SLUICE_WINDOW_MS: String(settings.windowMs),
    SLUICE_BUFFER_HIGH_WATERMARK: '10000000',
    SLUICE_BUFFER_LOW_WATERMARK: '5000000',
    SLUICE_ZK_SESSION_TIMEOUT_MS: '4000',
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
    database: `bench_${id}`,
    tables: Array.from({ length: settings.tables }, (_, i) => `t${i}`),
    keysPerTable: settings.keysPerTable,
    zipfS: 0,
    partitions: settings.partitions,
    seed: 5,
  });
  await produceBacklog(kafka, topic, () => generator.next(), settings.messages);
  const buffer = new RedisBuffer(redis, { prefix: id, cluster: env.SLUICE_CLUSTER as string, shards: 16 });
  return { env, topic, buffer, services };
}

async function startAll(d: Deployment, kind: 'ingest' | 'worker', count: number): Promise<ServiceProcess[]> {
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startService(`scale-${kind}-${count}-${i}`, kind, d.env, { ready: kind === 'worker' }),
    ),
  );
  d.services.push(...started);
  return started;
}

async function allCommitted(d: Deployment): Promise<void> {
  await waitFor(
    'every message committed',
    async () =>
      (await committed(kafka, d.env.SLUICE_KAFKA_GROUP as string, d.topic)) >= settings.messages
        ? true
        : undefined,
    { timeoutMs: 600_000, intervalMs: 100 },
  );
}

/** Every shard owned by exactly one of these workers. */
async function settled(workers: ServiceProcess[], timeoutMs = 60_000): Promise<void> {
  await waitFor(
    'every shard owned once',
    async () => {
      const owned = (await Promise.all(workers.map(workerStatus))).flatMap((st) => st.owned);
      return owned.length === 16 && new Set(owned).size === 16 ? true : undefined;
    },
    { timeoutMs, intervalMs: 50 },
  );
}

interface IngestFigure {
  processes: number;
  seconds: number;
  rate: number;
  cpu: number[];
  machine: Record<string, number>;
}

async function ingestScale(count: number): Promise<IngestFigure> {
  const d = await deployment(`scalei${count}`);
  const before = machineCpu();
  const t0 = Date.now();
  const ingests = await startAll(d, 'ingest', count);
  await allCommitted(d);
  const seconds = (Date.now() - t0) / 1000;
  const figure = {
    processes: count,
    seconds,
    rate: settings.messages / seconds,
    cpu: ingests.map((p) => cpuSeconds(p.child.pid as number)),
    machine: cpuSince(before),
  };
  say(
    `   ingest ×${count}: ${seconds.toFixed(1)} s, ${Math.round(figure.rate)} msg/s (${Math.round(figure.rate / count)} per process); CPU ${figure.cpu.map((c) => c.toFixed(1)).join(' / ')} s`,
  );
  return figure;
}

interface WorkerFigure {
  processes: number;
  rows: number;
  /** Rows still buffered once every shard was owned once. */
  left: number;
  settleSeconds: number;
  seconds: number;
  rate: number;
  cpu: number[];
  idlePercent: number;
  joinSeconds: number;
  machine: Record<string, number>;
}

async function workerScale(count: number): Promise<WorkerFigure> {
  const d = await deployment(`scalew${count}`);
  const [ingest] = await startAll(d, 'ingest', 1);
  await allCommitted(d);
  await ingest?.stop();
  const rows = await d.buffer.totalPending();
  const before = machineCpu();
  const t0 = Date.now();
  const workers = await startAll(d, 'worker', count);
  await settled(workers);
  const settledAt = Date.now();
  const settleSeconds = (settledAt - t0) / 1000;
  // the rate is taken once every worker has its share (starting several processes at once on two
  // cores, and each one's start-up recovery, is what the settle time shows)
  const left = await d.buffer.totalPending();
  await waitFor(
    'the buffer to drain',
    async () => ((await d.buffer.totalPending()) === 0 ? true : undefined),
    {
      timeoutMs: 600_000,
      intervalMs: 100,
    },
  );
  const seconds = (Date.now() - t0) / 1000;
  const drainRate = left / ((Date.now() - settledAt) / 1000);
  const machineUse = cpuSince(before);
  const cpu = workers.map((w) => cpuSeconds(w.child.pid as number));
  // idle: nothing pending, every shard's job still running each window
  await sleep(2000);
  const idle0 = workers.map((w) => cpuSeconds(w.child.pid as number));
  await sleep(10_000);
  const idlePercent =
    Math.max(...workers.map((w, i) => cpuSeconds(w.child.pid as number) - (idle0[i] as number))) * 10;
  // one more member: until every shard is owned once among them all again
  const joinAt = Date.now();
  const [extra] = await startAll(d, 'worker', 1);
  await waitFor(
    'the new worker to be given shards',
    async () => ((await workerStatus(extra as ServiceProcess)).owned.length > 0 ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  await settled([...workers, extra as ServiceProcess]);
  const joinSeconds = (Date.now() - joinAt) / 1000;
  const figure = {
    processes: count,
    rows,
    settleSeconds,
    seconds,
    rate: drainRate,
    left,
    cpu,
    idlePercent,
    joinSeconds,
    machine: machineUse,
  };
  say(
    `   worker ×${count}: ${rows} rows drained in ${seconds.toFixed(1)} s; once settled (after ${settleSeconds.toFixed(1)} s) ${left} rows at ${Math.round(figure.rate)} docs/s (${Math.round(figure.rate / count)} per process); CPU ${cpu.map((c) => c.toFixed(1)).join(' / ')} s; idle member ${idlePercent.toFixed(1)} % of a core; one more worker given its share in ${joinSeconds.toFixed(1)} s`,
  );
  return figure;
}

const busiest = (m: Record<string, number>) =>
  Object.entries(m)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([name, sec]) => `${name} ${sec.toFixed(1)}`)
    .join(', ');

try {
  say('ingest');
  const ingest = [await ingestScale(1), await ingestScale(2)];
  say('workers');
  const workers = [await workerScale(1), await workerScale(2), await workerScale(4)];
  const cores = (seconds: number, m: Record<string, number>) =>
    (Object.values(m).reduce((a, b) => a + b, 0) / seconds).toFixed(2);
  writeSection(
    'scale',
    `## Scale-out on this machine (\`npm run bench:scale\`, test/bench/scale.ts)

Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; Elasticsearch ${s.esMajor}.x; ${settings.messages} Canal messages over
${settings.tables} tables × ${settings.keysPerTable} uniform keys in a topic of ${settings.partitions} partitions, produced before Sluice starts;
services with NODE_OPTIONS \`${SERVICE_NODE_OPTIONS}\`, window ${settings.windowMs} ms. Ingest: time until the group
committed every message (buffer and backup durable), no worker. Workers: the buffer filled first,
then the workers started together; the rate is of the rows still buffered once every shard was
owned once, until the buffer is empty (the settle time, below, includes starting the processes
and each one's start-up recovery from the backup table). "Machine" is the CPU every program used
over the run, in cores (this machine has 2): where it is near 2, the machine is the limit.

| processes | total | per process | CPU per process | machine (cores busy; busiest programs, CPU s) |
|---|---|---|---|---|
${ingest.map((f) => `| ingest ×${f.processes} | ${Math.round(f.rate)} msg/s | ${Math.round(f.rate / f.processes)} msg/s | ${f.cpu.map((c) => c.toFixed(1)).join(' / ')} s | ${cores(f.seconds, f.machine)} (${busiest(f.machine)}) |`).join('\n')}
${workers.map((f) => `| worker ×${f.processes} | ${Math.round(f.rate)} docs/s (${f.left} of ${f.rows} rows left once settled) | ${Math.round(f.rate / f.processes)} docs/s | ${f.cpu.map((c) => c.toFixed(1)).join(' / ')} s | ${cores(f.seconds, f.machine)} (${busiest(f.machine)}) |`).join('\n')}

| coordination | ×1 | ×2 | ×4 |
|---|---|---|---|
| workers started together → every shard owned once | ${workers.map((f) => `${f.settleSeconds.toFixed(1)} s`).join(' | ')} |
| one more worker started → given its share, every shard owned once | ${workers.map((f) => `${f.joinSeconds.toFixed(1)} s`).join(' | ')} |
| CPU of an idle member (16 shard jobs every window between them) | ${workers.map((f) => `${f.idlePercent.toFixed(1)} %`).join(' | ')} |
`,
  );
  say('results written to docs/benchmarks.md');
} finally {
  for (const cleanup of cleanups) await cleanup().catch((error: unknown) => say(`cleanup: ${String(error)}`));
  await redis.quit();
  await es.close();
}
