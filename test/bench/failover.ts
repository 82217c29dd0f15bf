// `npm run bench:failover` — how fast the cluster recovers, with real worker processes under a
// steady load of Canal-format messages on 16 tables (one per shard):
//   kill -9 → the orphaned shards flushed again by their new owners (first and last), 10 trials
//   SIGTERM → handoff complete (every shard of the stopped worker running on another one), 10 trials
//   idle overhead of a worker that owns all 16 shards with nothing pending (CPU over 60 s)
// Prints the figures and rewrites the "failover" section of docs/benchmarks.md. Not a test.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fnv1a32 } from '@sluice/core';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { SERVICE_NODE_OPTIONS, type ServiceProcess } from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { flatMessageSource } from './flat-messages.ts';
import { machine, writeSection } from './report.ts';

const SESSION_MS = Number(process.env.BENCH_SESSION_MS ?? 4000);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 10);
const RATE = 400;
const s = stack();
const say = (text: string) => process.stdout.write(`${text}\n`);
const kafka = new Kafka({ clientId: 'sluice-bench', brokers: s.kafkaBrokers, logLevel: logLevel.NOTHING });
const topic = `bench.failover.${Date.now()}`;

const pipeline: Pipeline = await createPipeline({
  env: {
    SLUICE_KAFKA_TOPICS: topic,
    SLUICE_KAFKA_FROM_BEGINNING: 'true',
    SLUICE_ZK_SESSION_TIMEOUT_MS: String(SESSION_MS),
    SLUICE_DRAIN_TIMEOUT_MS: '5000',
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

interface Status {
  workerId: string;
  owned: number[];
}

async function status(w: ServiceProcess): Promise<Status> {
  return (await (await fetch(`http://127.0.0.1:${w.httpPort}/status`)).json()) as Status;
}

const alive = () =>
  pipeline.services.filter(
    (w) => w.name.startsWith('worker') && w.child.exitCode === null && w.child.signalCode === null,
  );

async function settled(count: number): Promise<Status[]> {
  return waitFor(
    `${count} workers to own every shard`,
    async () => {
      const workers = alive();
      if (workers.length !== count) return undefined;
      const all = await Promise.all(workers.map(status));
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

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

let producing = true;
try {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 6, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  const next = flatMessageSource({
    database: pipeline.database,
    tables: 16,
    tableNames: tablePerShard(pipeline.database),
    keysPerTable: 1000,
    zipfS: 1.1,
    partitions: 6,
    seed: 5,
  });
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

  const killFirst: number[] = [];
  const killAll: number[] = [];
  for (let trial = 1; trial <= TRIALS; trial++) {
    const workers = alive();
    const victim = workers[trial % workers.length] as ServiceProcess;
    const { workerId, owned } = await status(victim);
    const at = Date.now();
    await victim.kill9();
    const times = await firstFlushes(owned, at, workerId);
    killFirst.push(Math.min(...times));
    killAll.push(Math.max(...times));
    say(
      `kill -9 #${trial}: ${owned.length} orphaned shards flushed again after ${Math.min(...times)}–${Math.max(...times)} ms`,
    );
    await pipeline.start('worker');
    await settled(3);
    await sleep(1000);
  }

  const handoffs: number[] = [];
  for (let trial = 1; trial <= TRIALS; trial++) {
    const workers = alive();
    const victim = workers[trial % workers.length] as ServiceProcess;
    const { owned } = await status(victim);
    const others = workers.filter((w) => w !== victim);
    const at = Date.now();
    victim.child.kill('SIGTERM');
    await waitFor(
      'the handoff',
      async () => {
        const taken = (await Promise.all(others.map(status))).flatMap((x) => x.owned);
        return owned.every((shard) => taken.includes(shard)) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 10 },
    );
    handoffs.push(Date.now() - at);
    await victim.exited;
    say(`SIGTERM #${trial}: ${owned.length} shards handed over after ${handoffs.at(-1)} ms`);
    await pipeline.start('worker');
    await settled(3);
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
\`${SERVICE_NODE_OPTIONS}\`), ZooKeeper session timeout ${SESSION_MS} ms, shard lock TTL 3000 ms, window
3000 ms, ${RATE} messages/s over 16 tables (one per shard), ${TRIALS} trials each.

| figure | measured | target |
|---|---|---|
| kill -9 → first orphaned shard flushed by its new owner | ${ms(killFirst)} | ≤ session timeout + 1 s = ${budget} ms |
| kill -9 → every orphaned shard flushed | ${ms(killAll)} | (same budget) |
| SIGTERM → every shard of the stopped worker running elsewhere | ${ms(handoffs)} | ≤ 1000 ms |
| idle worker (16 shards owned, nothing pending), CPU | ${idlePercent.toFixed(2)} % of one core | ≤ 2 % |
`,
  );
  say('results written to docs/benchmarks.md');
} finally {
  producing = false;
  await pipeline.close();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}
