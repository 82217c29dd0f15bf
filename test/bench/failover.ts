// `npm run bench:failover` — how fast the cluster recovers, with real worker processes under a
// steady load of Canal-format messages on 16 tables (one per shard):
//   kill -9 of a worker → its shards owned again by the others, and flushed again by their new
//     owners (first and last), 10 trials
//   SIGTERM of a worker → handoff complete (every shard of the stopped worker running on another
//     one), and the worker's exit after its drain, 10 trials
//   SIGTERM of the ingest → its exit after the drain, and a replacement in the consumer group;
//   kill -9 of the ingest → a replacement in the group once the dead member's session expired,
//     10 trials each
//   idle overhead of a worker that owns all 16 shards with nothing pending (CPU over 60 s)
// Prints the figures and rewrites the "failover" section of docs/benchmarks.md. Not a test: the
// end-to-end tests (cluster, shutdown, ingest-failover) check the behaviour, this measures its times.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fnv1a32 } from '@sluice/core';
import { FlatMessageGenerator } from '@sluice/loadgen';
import mysql from 'mysql2/promise';
import { createTopic, deleteTopic, kafkaClient } from '../support/kafka.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { SERVICE_NODE_OPTIONS, type ServiceProcess, workerStatus } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';
import { machine, writeSection } from './report.ts';

const SESSION_MS = Number(process.env.BENCH_SESSION_MS ?? 4000);
const KAFKA_SESSION_MS = Number(process.env.BENCH_KAFKA_SESSION_MS ?? 6000);
/** kafkajs' own default session timeout, which a dead ingest would otherwise hold its partitions for. */
const KAFKAJS_DEFAULT_SESSION_MS = 30_000;
const DRAIN_MS = 5000;
const TRIALS = Number(process.env.BENCH_TRIALS ?? 10);
const RATE = 400;
const say = (text: string) => process.stdout.write(`${text}\n`);
const topic = `bench.failover.${Date.now()}`;

const pipeline: Pipeline = await createPipeline({
  env: {
    SLUICE_KAFKA_TOPICS: topic,
    SLUICE_KAFKA_FROM_BEGINNING: 'true',
    SLUICE_ZK_SESSION_TIMEOUT_MS: String(SESSION_MS),
    SLUICE_KAFKA_SESSION_TIMEOUT_MS: String(KAFKA_SESSION_MS),
    SLUICE_DRAIN_TIMEOUT_MS: String(DRAIN_MS),
  },
});

/** One table per shard, so every shard has data all the time. */
function tablePerShard(database: string): string[] {
  const chosen = new Map<number, string>();
  for (let i = 0; chosen.size < 16; i++) {
    const name = `t${i}`;
    const shard = fnv1a32(`${database}.${name}`) % 16;
    if (!chosen.has(shard)) chosen.set(shard, name);
  }
  return [...chosen.values()];
}

const running = (kind: 'ingest' | 'worker') => () =>
  pipeline.services.filter(
    (w) => w.name.startsWith(kind) && w.child.exitCode === null && w.child.signalCode === null,
  );
const alive = running('worker');
const ingests = running('ingest');

async function settled(count: number): Promise<Array<{ workerId: string; owned: number[] }>> {
  return waitFor(
    `${count} workers to own every shard`,
    async () => {
      const workers = alive();
      if (workers.length !== count) return undefined;
      const all = await Promise.all(workers.map(workerStatus));
      const owned = all.flatMap((x) => x.owned).sort((a, b) => a - b);
      return owned.length === 16 && owned.every((shard, i) => shard === i) ? all : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
}

async function firstFlushes(shards: number[], after: number, notBy: string): Promise<number[]> {
  const db = await mysql.createConnection(pipeline.metaUrl);
  try {
    return await waitFor(
      'the orphaned shards to be flushed by their new owners',
      async () => {
        const [rows] = await db.query<mysql.RowDataPacket[]>(
          'SELECT shard, MIN(start_time) AS first FROM sync_monitor WHERE shard IN (?) AND start_time >= ? AND worker <> ? GROUP BY shard',
          [shards, new Date(after), notBy],
        );
        return rows.length === shards.length
          ? rows.map((r) => new Date(r.first).getTime() - after)
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50 },
    );
  } finally {
    await db.end();
  }
}

/** Milliseconds from `at` until every one of `shards` is owned by one of `others` (their /status). */
async function ownedAgain(shards: number[], others: ServiceProcess[], at: number): Promise<number> {
  return waitFor(
    'the orphaned shards to be owned again',
    async () => {
      const taken = (await Promise.all(others.map(workerStatus))).flatMap((x) => x.owned);
      return shards.every((shard) => taken.includes(shard)) ? Date.now() - at : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 10 },
  );
}

/** The worker a trial stops (each trial another one), the others, and what the victim owns. */
async function victimOf(trial: number) {
  const workers = alive();
  const victim = workers[trial % workers.length] as ServiceProcess;
  const { workerId, owned } = await workerStatus(victim);
  return { victim, workerId, owned, others: workers.filter((w) => w !== victim) };
}

/** After a trial: a worker in place of the victim, and the cluster settled again. */
async function replaceWorker(): Promise<void> {
  await pipeline.start('worker');
  await settled(3);
  await sleep(1000);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

let producing = true;
try {
  await createTopic(topic, 6);
  const producer = kafkaClient('sluice-bench').producer();
  await producer.connect();
  const generator = new FlatMessageGenerator({
    database: pipeline.database,
    tables: tablePerShard(pipeline.database),
    keysPerTable: 1000,
    zipfS: 1.1,
    partitions: 6,
    seed: 5,
  });
  const next = () => generator.next();
  const load = (async () => {
    while (producing) {
      const batch = Array.from({ length: RATE / 10 }, () => next());
      await producer.send({
        topic,
        messages: batch.map((m) => ({ value: m.value, partition: m.partition })),
      });
      await sleep(100);
    }
  })();

  await pipeline.start('ingest');
  for (let i = 0; i < 3; i++) await pipeline.start('worker');
  await settled(3);
  await sleep(3000);

  const killOwned: number[] = [];
  const killFirst: number[] = [];
  const killAll: number[] = [];
  for (let trial = 1; trial <= TRIALS; trial++) {
    const { victim, workerId, owned, others } = await victimOf(trial);
    const at = Date.now();
    await victim.kill9();
    const [reowned, times] = await Promise.all([
      ownedAgain(owned, others, at),
      firstFlushes(owned, at, workerId),
    ]);
    killOwned.push(reowned);
    killFirst.push(Math.min(...times));
    killAll.push(Math.max(...times));
    say(
      `kill -9 #${trial}: ${owned.length} orphaned shards owned again after ${reowned} ms, flushed again after ${Math.min(...times)}–${Math.max(...times)} ms`,
    );
    await replaceWorker();
  }

  const handoffs: number[] = [];
  const workerExits: number[] = [];
  for (let trial = 1; trial <= TRIALS; trial++) {
    const { victim, owned, others } = await victimOf(trial);
    const at = Date.now();
    victim.child.kill('SIGTERM');
    const [handedOver, exited] = await Promise.all([
      ownedAgain(owned, others, at),
      victim.exited.then(() => Date.now() - at),
    ]);
    handoffs.push(handedOver);
    workerExits.push(exited);
    say(
      `SIGTERM #${trial}: ${owned.length} shards handed over after ${handedOver} ms, the worker exited after ${exited} ms`,
    );
    await replaceWorker();
  }

  // The ingest: a graceful stop and its replacement, then a kill -9 and its replacement, which can
  // only join once the dead member's Kafka session has expired.
  const ingestExits: number[] = [];
  const ingestRejoins: number[] = [];
  const ingestKillJoins: number[] = [];
  for (let trial = 1; trial <= TRIALS; trial++) {
    const leaving = ingests()[0] as ServiceProcess;
    const at = Date.now();
    leaving.child.kill('SIGTERM');
    await leaving.exited;
    ingestExits.push(Date.now() - at);
    await pipeline.start('ingest'); // ready = it has joined the group
    ingestRejoins.push(Date.now() - at);
    const victim = ingests()[0] as ServiceProcess;
    const killedAt = Date.now();
    await victim.kill9();
    await pipeline.start('ingest');
    ingestKillJoins.push(Date.now() - killedAt);
    say(
      `ingest #${trial}: SIGTERM → exited after ${ingestExits.at(-1)} ms, replacement in the group after ${ingestRejoins.at(-1)} ms; kill -9 → replacement in the group after ${ingestKillJoins.at(-1)} ms`,
    );
    await sleep(1000);
  }

  say('idle overhead: one worker owning all 16 shards, nothing pending');
  producing = false;
  await load;
  await producer.disconnect();
  const workers = alive();
  for (const w of workers.slice(1)) await w.stop();
  await settled(1);
  await sleep(10_000);
  const idle = workers[0] as ServiceProcess;
  const pid = idle.child.pid as number;
  const before = cpuSeconds(pid);
  const seconds = 60;
  await sleep(seconds * 1000);
  const idlePercent = ((cpuSeconds(pid) - before) / seconds) * 100;
  say(`idle CPU: ${idlePercent.toFixed(2)} % of one core`);

  const ms = (xs: number[]) => `median ${median(xs)} ms, max ${Math.max(...xs)} ms`;
  const budget = SESSION_MS + 1000;
  writeSection(
    'failover',
    `## Failover (\`npm run bench:failover\`, test/bench/failover.ts)

Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; 3 workers and 1 ingest (NODE_OPTIONS
\`${SERVICE_NODE_OPTIONS}\`), ZooKeeper session timeout ${SESSION_MS} ms, Kafka session timeout
${KAFKA_SESSION_MS} ms, drain bound ${DRAIN_MS} ms, shard lock TTL 3000 ms, window 3000 ms, ${RATE} messages/s
over 16 tables (one per shard), ${TRIALS} trials each. A replacement ingest's time includes starting its
process (Node, connections) until it is ready, i.e. in the consumer group.

| figure | measured | target |
|---|---|---|
| worker kill -9 → every orphaned shard owned again | ${ms(killOwned)} | ≤ session timeout + 2 s = ${SESSION_MS + 2000} ms |
| worker kill -9 → first orphaned shard flushed by its new owner | ${ms(killFirst)} | ≤ session timeout + 1 s = ${budget} ms |
| worker kill -9 → every orphaned shard flushed | ${ms(killAll)} | (same budget) |
| worker SIGTERM → every shard of the stopped worker running elsewhere | ${ms(handoffs)} | ≤ 1000 ms |
| worker SIGTERM → exited | ${ms(workerExits)} | < drain bound + 5 s = ${DRAIN_MS + 5000} ms |
| ingest SIGTERM → exited | ${ms(ingestExits)} | < drain bound + 5 s = ${DRAIN_MS + 5000} ms |
| ingest SIGTERM → replacement in the consumer group | ${ms(ingestRejoins)} | (started after the exit) |
| ingest kill -9 → replacement in the consumer group | ${ms(ingestKillJoins)} | < kafkajs' default session − 5 s = ${KAFKAJS_DEFAULT_SESSION_MS - 5000} ms |
| idle worker (16 shards owned, nothing pending), CPU | ${idlePercent.toFixed(2)} % of one core | ≤ 2 % |
`,
  );
  say('results written to docs/benchmarks.md');
} finally {
  producing = false;
  await pipeline.close();
  await deleteTopic(topic);
}
