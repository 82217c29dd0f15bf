// `sluice loadtest --generators G --ingest N --workers M`: a whole load test on this machine. It starts
// N `sluice ingest` and M `sluice worker` processes (the settings of this command, each with its own
// HTTP port) and G generators (`sluice loadtest --kafka --instance i --instances G`, each its share of
// the rate), and runs the phases
//
//   ramp       the rate climbs from 0 to --rate
//   sustained  --rate
//   scale      M more workers join, then leave again (M → 2M → M)
//   fault      one ingest is killed (-9) and started again
//   drain      the generators are done: until every key's last write is in the index
//
// (and "start" before them: the services starting).
//
// sampling every process's /metrics and the topic's end offsets each second. The report (JSON) and
// its chart (SVG: changes/s in and documents/s out, freshness p99, the phases marked) go to --out.
// Freshness comes from the workers' histogram (commit → bulk acknowledged), interpolated within
// its buckets; "exact" compares the index with the generators' expected final state.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { kafkaSecurity, requiredSetting, type SettingValues } from '@sluice/config';
import { mergeExpected } from '@sluice/loadgen';
import { Kafka, logLevel } from 'kafkajs';
import { renderChart, type Sample } from './loadtest-chart.ts';
import { waitExact } from './loadtest-exact.ts';
import { histogramQuantile, parseMetrics, type Samples, sumOf } from './prom-text.ts';

export interface LoadRunOptions {
  database: string;
  topic: string;
  generators: number;
  ingest: number;
  workers: number;
  /** Messages per second in all (the generators share it). */
  rate: number;
  /** Seconds of each timed phase (ramp, sustained, scale, fault). */
  phaseSeconds: number;
  tables: number;
  keys: number;
  zipf: number;
  rowBytes: number;
  seed: number;
  out: string;
  /** Longest wait for the index to be exact after the generators end. */
  drainTimeoutMs: number;
}

interface Member {
  name: string;
  role: 'ingest' | 'worker' | 'generator';
  child: ChildProcess;
  port?: number;
  started: number;
  ended?: number;
  /** Its last CPU seconds and RSS bytes (from /proc), kept after it ended. */
  last?: { cpu: number; rss: number };
  peakRss: number;
}

const workersText = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU seconds (user + system), resident and peak resident bytes of a process, from /proc (Linux). */
function procStats(pid: number | undefined): { cpu: number; rss: number; peakRss: number } | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
    return { cpu: (Number(stat[11]) + Number(stat[12])) / 100, rss: kb('VmRSS'), peakRss: kb('VmHWM') };
  } catch {
    return undefined; // it ended
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function metricsOf(member: Member): Promise<Samples | undefined> {
  if (member.port === undefined || member.ended !== undefined) return undefined;
  try {
    const response = await fetch(`http://127.0.0.1:${member.port}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    return response.ok ? parseMetrics(await response.text()) : undefined;
  } catch {
    return undefined;
  }
}

export async function runLoadTest(
  settings: SettingValues,
  options: LoadRunOptions,
  say: (line: string) => void,
) {
  mkdirSync(options.out, { recursive: true });
  const brokers = requiredSetting(settings, 'kafkaBrokers', 'loadtest');
  const security = kafkaSecurity(settings);
  const kafka = new Kafka({
    clientId: 'sluice-loadtest',
    brokers,
    logLevel: logLevel.NOTHING,
    ...(security as object),
  });
  const admin = kafka.admin();
  await admin.connect();
  const members: Member[] = [];
  const cli = process.argv[1] as string;
  // every process reads the settings this command read: the environment, and the same --config
  const at = process.argv.findIndex((a) => a === '-c' || a === '--config');
  const config = at > 0 ? process.argv.slice(at, at + 2) : [];
  const t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;
  const phases: Array<{ name: string; start: number; end?: number }> = [];
  const events: Array<{ t: number; what: string }> = [];
  const phase = (name: string) => {
    const now = elapsed();
    const open = phases.at(-1);
    if (open && open.end === undefined) open.end = now;
    phases.push({ name, start: now });
    say(`${now.toFixed(0).padStart(4)} s  ${name}`);
  };
  const env = { ...process.env, SLUICE_KAFKA_TOPICS: options.topic, SLUICE_LOG_LEVEL: 'warn' };

  const start = async (role: 'ingest' | 'worker', n: number): Promise<Member> => {
    const port = await freePort();
    const name = `${role}-${n}`;
    const child = spawn(process.execPath, [cli, ...config, role], {
      env: { ...env, SLUICE_HTTP_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log = createWriteStream(join(options.out, `${name}.log`));
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const member: Member = { name, role, child, port, started: elapsed(), peakRss: 0 };
    child.once('exit', () => {
      member.ended = elapsed();
    });
    members.push(member);
    // ready: its /health/ready answers 200
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (member.ended !== undefined)
        throw new Error(`${name} exited while starting: see ${options.out}/${name}.log`);
      const ok = await fetch(`http://127.0.0.1:${port}/health/ready`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`${name} not ready within 2 minutes: see ${options.out}/${name}.log`);
      await sleep(250);
    }
    return member;
  };
  const stop = async (member: Member, signal: NodeJS.Signals) => {
    if (member.ended !== undefined) return;
    const exited = new Promise((resolve) => member.child.once('exit', resolve));
    member.child.kill(signal);
    await Promise.race([exited, sleep(30_000)]);
    if (member.ended === undefined) member.child.kill('SIGKILL');
  };

  const offsets = async () =>
    (await admin.fetchTopicOffsets(options.topic)).reduce((sum, p) => sum + Number(p.high), 0);
  const samples: Sample[] = [];
  let previous: { t: number; offsets: number; docs: number; read: number; buckets: Samples } | undefined;
  const sampleOnce = async () => {
    const t = elapsed();
    const metrics = new Map<Member, Samples>();
    await Promise.all(
      members.map(async (m) => {
        const s = await metricsOf(m);
        if (s) metrics.set(m, s);
      }),
    );
    const cpu: Record<string, number> = {};
    const rssMiB: Record<string, number> = {};
    let docs = 0;
    let read = 0;
    const buckets: Samples = [];
    for (const member of members) {
      const own = procStats(member.child.pid);
      if (own) {
        member.last = own;
        member.peakRss = Math.max(member.peakRss, own.peakRss);
      }
      if (member.ended === undefined && member.last) {
        cpu[member.name] = member.last.cpu;
        rssMiB[member.name] = member.last.rss / 2 ** 20;
      }
      const s = metrics.get(member);
      if (!s) continue;
      if (member.role === 'worker') {
        docs += sumOf(s, 'sluice_flush_docs_total');
        buckets.push(...s.filter((x) => x.name === 'sluice_sync_latency_seconds_bucket'));
      }
      if (member.role === 'ingest') read += sumOf(s, 'sluice_ingest_messages_total');
    }
    const now = { t, offsets: await offsets(), docs, read, buckets };
    if (previous) {
      const dt = t - previous.t;
      // counters of processes that ended or started meanwhile make a step: never below zero
      const rate = (a: number, b: number) => Math.max(0, (a - b) / dt);
      const delta = diffBuckets(now.buckets, previous.buckets);
      samples.push({
        t,
        inPerSecond: rate(now.offsets, previous.offsets),
        outPerSecond: rate(now.docs, previous.docs),
        readPerSecond: rate(now.read, previous.read),
        freshnessP50: histogramQuantile(delta, 0.5),
        freshnessP99: histogramQuantile(delta, 0.99),
        workers: members.filter((m) => m.role === 'worker' && m.ended === undefined).length,
        cpu,
        rssMiB,
      });
    }
    previous = now;
  };

  const baseOffsets = await offsets();
  const ingest: Member[] = [];
  const workers: Member[] = [];
  const generatorFiles: string[] = [];
  const generatorRuns: Array<Promise<{ code: number | null; stdout: string }>> = [];
  let sampler: ReturnType<typeof setInterval> | undefined;
  try {
    phase('start');
    for (let i = 0; i < options.ingest; i++) ingest.push(await start('ingest', i));
    for (let i = 0; i < options.workers; i++) workers.push(await start('worker', i));
    await sampleOnce();
    sampler = setInterval(() => void sampleOnce().catch(() => undefined), 1000);

    const generatorSeconds = 4 * options.phaseSeconds;
    const share = options.rate / options.generators;
    // messages so the rate holds through the timed phases: the ramp counts half
    const perGenerator = Math.round(share * (generatorSeconds - options.phaseSeconds / 2));
    phase('ramp');
    for (let i = 0; i < options.generators; i++) {
      const file = join(options.out, `expected-${i}.json`);
      generatorFiles.push(file);
      const child = spawn(
        process.execPath,
        [
          cli,
          ...config,
          'loadtest',
          '--kafka',
          '--json',
          ...['--database', options.database, '--topic', options.topic],
          ...[
            '--messages',
            String(perGenerator),
            '--rate',
            String(share),
            '--ramp',
            String(options.phaseSeconds),
          ],
          ...[
            '--tables',
            String(options.tables),
            '--keys',
            String(options.keys),
            '--zipf',
            String(options.zipf),
          ],
          ...['--row-bytes', String(options.rowBytes), '--seed', String(options.seed)],
          ...['--instance', String(i), '--instances', String(options.generators), '--expected', file],
        ],
        { env, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const member: Member = {
        name: `generator-${i}`,
        role: 'generator',
        child,
        started: elapsed(),
        peakRss: 0,
      };
      members.push(member);
      let stdout = '';
      child.stdout?.on('data', (chunk) => {
        stdout += chunk;
      });
      child.stderr?.pipe(createWriteStream(join(options.out, `${member.name}.log`)));
      generatorRuns.push(
        new Promise((resolve) =>
          child.once('exit', (code) => {
            member.ended = elapsed();
            resolve({ code, stdout });
          }),
        ),
      );
    }
    await sleep(options.phaseSeconds * 1000);
    phase('sustained');
    await sleep(options.phaseSeconds * 1000);
    phase('scale');
    const extra: Member[] = [];
    for (let i = 0; i < options.workers; i++) extra.push(await start('worker', options.workers + i));
    events.push({ t: elapsed(), what: workersText(2 * options.workers) });
    await sleep((options.phaseSeconds * 1000) / 2);
    await Promise.all(extra.map((m) => stop(m, 'SIGTERM')));
    events.push({ t: elapsed(), what: workersText(options.workers) });
    await sleep((options.phaseSeconds * 1000) / 2);
    phase('fault');
    const victim = ingest[0] as Member;
    await stop(victim, 'SIGKILL');
    events.push({ t: elapsed(), what: `kill -9 ${victim.name}` });
    await sleep(Math.min(5000, (options.phaseSeconds * 1000) / 2));
    ingest[0] = await start('ingest', options.ingest);
    events.push({ t: elapsed(), what: `${ingest[0].name} started` });
    const results = await Promise.all(generatorRuns);
    for (const [i, r] of results.entries())
      if (r.code !== 0)
        throw new Error(`generator ${i} failed (exit ${r.code}): see ${options.out}/generator-${i}.log`);
    const produced = results.map((r) => JSON.parse(r.stdout) as { messages: number; seconds: number });
    phase('drain');
    const states = generatorFiles.map(
      (file) => JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, number | null>>,
    );
    const exactness = await waitExact(
      settings,
      options.database,
      mergeExpected(states),
      options.drainTimeoutMs,
    );
    clearInterval(sampler);
    sampler = undefined;
    await sampleOnce();
    (phases.at(-1) as { end?: number }).end = elapsed();

    const all = freshnessOver(samples);
    const report = {
      config: { ...options, cpus: cpus().length },
      phases,
      events,
      totals: {
        produced: produced.reduce((sum, p) => sum + p.messages, 0),
        topicMessages: (await offsets()) - baseOffsets,
        documentsWritten: Math.round(
          samples.reduce((sum, x, i) => sum + x.outPerSecond * (x.t - (samples[i - 1]?.t ?? x.t)), 0),
        ),
        exact: exactness.exact,
        exactAfterSeconds: exactness.seconds,
        expectedKeys: exactness.keys,
        mismatch: exactness.mismatch,
        sustainedInPerSecond: mean(samples, phases, 'sustained', 'inPerSecond'),
        sustainedOutPerSecond: mean(samples, phases, 'sustained', 'outPerSecond'),
        freshness: all,
      },
      processes: members.map((m) => {
        const cpuSeconds = m.last?.cpu ?? 0; // a process's CPU counter starts with it
        const lived = (m.ended ?? elapsed()) - m.started;
        return {
          name: m.name,
          role: m.role,
          startedAt: m.started,
          endedAt: m.ended,
          cpuSeconds,
          cpuShare: lived > 0 ? cpuSeconds / lived : 0,
          peakRssMiB: m.peakRss / 2 ** 20,
        };
      }),
      samples,
    };
    writeFileSync(join(options.out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(options.out, 'report.svg'), renderChart(samples, phases, events));
    return report;
  } finally {
    if (sampler) clearInterval(sampler);
    await Promise.all(members.map((m) => stop(m, m.role === 'generator' ? 'SIGKILL' : 'SIGTERM')));
    await admin.disconnect();
  }
}

/** Bucket counts of `now` minus those of `before`, by bucket bound (summed over processes). */
function diffBuckets(now: Samples, before: Samples): Array<{ le: number; count: number }> {
  const total = (list: Samples) => {
    const by = new Map<number, number>();
    for (const s of list) {
      const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
      by.set(le, (by.get(le) ?? 0) + s.value);
    }
    return by;
  };
  const a = total(now);
  const b = total(before);
  return [...a]
    .map(([le, count]) => ({ le, count: Math.max(0, count - (b.get(le) ?? 0)) }))
    .sort((x, y) => x.le - y.le);
}

function freshnessOver(samples: Sample[]) {
  const values = samples.map((s) => s.freshnessP99).filter((v): v is number => v !== undefined);
  const p50s = samples.map((s) => s.freshnessP50).filter((v): v is number => v !== undefined);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  return {
    medianOfP50: sorted(p50s)[Math.floor(p50s.length / 2)],
    medianOfP99: sorted(values)[Math.floor(values.length / 2)],
    maxOfP99: sorted(values).at(-1),
  };
}

function mean(
  samples: Sample[],
  phases: Array<{ name: string; start: number; end?: number }>,
  name: string,
  key: 'inPerSecond' | 'outPerSecond',
) {
  const p = phases.find((x) => x.name === name);
  const inside = samples.filter((s) => p && s.t > p.start && s.t <= (p.end ?? Number.POSITIVE_INFINITY));
  return inside.length ? inside.reduce((sum, s) => sum + s[key], 0) / inside.length : 0;
}
