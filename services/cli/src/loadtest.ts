// `sluice loadtest`: a random workload on a MySQL database (see @sluice/loadgen): inserts, updates,
// deletes, re-inserts, primary-key changes, a composite-key table and hot rows. Run it from many
// machines at once against one database for a load test of the whole pipeline.
//
// `sluice loadtest --kafka`: Canal flat messages made up and produced straight to the Canal topic, at
// rates MySQL and Canal cannot reach. Generators run side by side with `--instance i --instances G`
// (each owns the ids ≡ i mod G, so together they write every key once per change and the final state
// is known); `--expected FILE` writes this generator's final state (per table: id → last rev, null
// when deleted) for the check that every key's last write reached the index.

import { writeFileSync } from 'node:fs';
import { kafkaSecurity, requiredSetting, type SettingValues } from '@sluice/config';
import { ConfigError } from '@sluice/core';
import {
  FlatMessageGenerator,
  mergeExpected,
  produceFlat,
  readResults,
  runWorkload,
  storeResult,
  topicPartitions,
} from '@sluice/loadgen';
import { CloseList } from '@sluice/wiring/closers';
import { openBufferRedis } from '@sluice/wiring/redis';
import type { Command } from 'commander';
import { printResult, settingsOf } from './context.ts';
import { EXIT } from './exit.ts';
import { Progress } from './progress.ts';

export function registerLoadtestCommand(program: Command): void {
  const loadtest = program
    .command('loadtest')
    .description(
      'run a random workload on a MySQL database (tables accounts, order_lines, hot_counters), or with --kafka produce Canal messages straight to Kafka',
    )
    .option(
      '--database <name>',
      'database to create the tables in and write to (--kafka: named in the messages)',
    )
    .option('--kafka', 'produce Canal flat messages to the Canal topic instead of writing MySQL')
    .option('--topic <name>', '--kafka: the topic (default: the first of SLUICE_KAFKA_TOPICS)')
    .option('--messages <n>', '--kafka: messages to produce', '100000')
    .option('--tables <n>', '--kafka: tables (t0, t1, …)', '4')
    .option('--keys <n>', '--kafka: ids per table', '100000')
    .option('--zipf <s>', '--kafka: Zipf exponent of key choice (0: uniform)', '1.1')
    .option('--row-bytes <n>', '--kafka: bytes of each row', '300')
    .option('--instance <i>', '--kafka: this generator, 0-based (default: JOB_COMPLETION_INDEX, else 0)')
    .option('--instances <n>', '--kafka: generators running side by side', '1')
    .option('--expected <file>', "--kafka: write this generator's final state of every key written")
    .option('--ramp <s>', '--kafka: seconds over which the rate climbs to --rate', '0')
    .option('--run <id>', '--kafka: leave the result under this run in Redis, for sluice loadtest report')
    .option(
      '--generators <n>',
      'a whole load test: G generators (--kafka), N ingest and M workers started here',
    )
    .option('--ingest <n>', 'with --generators: ingest processes', '2')
    .option(
      '--workers <n>',
      'with --generators: worker processes (doubled, then back, in the scale phase)',
      '2',
    )
    .option(
      '--phase-seconds <s>',
      'with --generators: seconds of each phase (ramp, sustained, scale, fault)',
      '30',
    )
    .option(
      '--out <dir>',
      'with --generators: where the report (report.json, report.svg) and logs go',
      'loadtest-report',
    )
    .option('--operations <n>', 'statements to run', '10000')
    .option('--concurrency <n>', 'connections', '4')
    .option('--rate <n>', 'statements per second (default: as fast as possible)')
    .option('--seed <n>', 'random seed (same seed, same operations)', '1')
    .option('--hot-keys <n>', 'rows of hot_counters', '3')
    .option('--json', 'machine-readable output')
    .action(async (options, command: Command) => {
      const settings = settingsOf(command);
      if (!options.database) throw new ConfigError('--database', 'is required');
      if (options.generators) return runWhole(settings, options);
      if (options.kafka) return produceToKafka(settings, options);
      const operations = Number(options.operations);
      const progress = options.json ? undefined : new Progress();
      const line = (done: number) => ({ label: 'loadtest', done, total: operations, unit: 'operations' });
      const stats = await runWorkload({
        url: requiredSetting(settings, 'sourceMysqlUrl', 'loadtest'),
        database: options.database,
        operations,
        concurrency: Number(options.concurrency),
        seed: Number(options.seed),
        hotKeys: Number(options.hotKeys),
        ...(options.rate ? { ratePerSecond: Number(options.rate) } : {}),
        onProgress: (done) => progress?.update(line(done)),
      });
      progress?.done(line(stats.operations));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(stats)}\n`);
        return;
      }
      const kinds = Object.entries(stats.byKind)
        .sort()
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ');
      process.stdout.write(
        `${stats.operations} operations in ${stats.seconds.toFixed(1)} s (${Math.round(stats.operations / stats.seconds)}/s); ${stats.refused} refused by MySQL (duplicate keys), ${stats.retried} run again after a deadlock\n  ${kinds}\n`,
      );
    });
  registerReport(loadtest);
}

const whole = (name: string, text: string, min = 0): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(name, `must be a whole number ≥ ${min}`);
  return n;
};

async function produceToKafka(
  settings: SettingValues,
  options: Record<string, string | boolean | undefined>,
) {
  const brokers = requiredSetting(settings, 'kafkaBrokers', 'loadtest --kafka');
  const topic = (options.topic as string | undefined) ?? (settings.kafkaTopics[0] as string);
  const security = kafkaSecurity(settings);
  const messages = whole('--messages', options.messages as string, 1);
  const zipfS = Number(options.zipf);
  if (!Number.isFinite(zipfS) || zipfS < 0) throw new ConfigError('--zipf', 'must be a number ≥ 0');
  const generator = new FlatMessageGenerator({
    database: options.database as string,
    tables: Array.from({ length: whole('--tables', options.tables as string, 1) }, (_, i) => `t${i}`),
    keysPerTable: whole('--keys', options.keys as string, 1),
    zipfS,
    partitions: await topicPartitions({ brokers, topic, security }),
    seed: whole('--seed', options.seed as string),
    instance: whole(
      '--instance',
      (options.instance as string | undefined) ?? process.env.JOB_COMPLETION_INDEX ?? '0',
    ),
    instances: whole('--instances', options.instances as string, 1),
    rowBytes: whole('--row-bytes', options.rowBytes as string),
  });
  const progress = options.json ? undefined : new Progress();
  const line = (done: number) => ({ label: `loadtest → ${topic}`, done, total: messages, unit: 'messages' });
  const stats = await produceFlat({
    brokers,
    topic,
    generator,
    messages,
    security,
    ...(options.rate ? { ratePerSecond: Number(options.rate), rampSeconds: Number(options.ramp) } : {}),
    onProgress: (done) => progress?.update(line(done)),
  });
  progress?.done(line(stats.messages));
  const state: Record<string, Record<string, number | null>> = {};
  for (const [table, rows] of generator.expected()) state[table] = Object.fromEntries(rows);
  if (options.expected) writeFileSync(options.expected as string, `${JSON.stringify(state)}\n`);
  if (options.run) {
    const closers = new CloseList();
    try {
      const redis = await openBufferRedis(settings, closers, { name: 'loadtest' });
      await storeResult(redis, resultPrefix(settings), options.run as string, {
        instance: generator.instance,
        instances: generator.instances,
        database: options.database as string,
        topic,
        stats,
        finishedAt: Date.now(),
        expected: state,
      });
    } finally {
      await closers.close();
    }
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ topic, ...stats })}\n`);
    return;
  }
  const types = Object.entries(stats.byType)
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  process.stdout.write(
    `${stats.messages} messages to ${topic} in ${stats.seconds.toFixed(1)} s (${Math.round(stats.perSecond)}/s)\n  ${types}\n`,
  );
}

async function runWhole(settings: SettingValues, options: Record<string, string | boolean | undefined>) {
  const { runLoadTest } = await import('./loadtest-run.ts');
  const rate = whole('--rate', (options.rate as string | undefined) ?? '5000', 1);
  const report = await runLoadTest(
    settings,
    {
      database: options.database as string,
      topic: (options.topic as string | undefined) ?? (settings.kafkaTopics[0] as string),
      generators: whole('--generators', options.generators as string, 1),
      ingest: whole('--ingest', options.ingest as string, 1),
      workers: whole('--workers', options.workers as string, 1),
      rate,
      phaseSeconds: whole('--phase-seconds', options.phaseSeconds as string, 2),
      tables: whole('--tables', options.tables as string, 1),
      keys: whole('--keys', options.keys as string, 1),
      zipf: Number(options.zipf),
      rowBytes: whole('--row-bytes', options.rowBytes as string),
      seed: whole('--seed', options.seed as string),
      out: options.out as string,
      drainTimeoutMs: 300_000,
    },
    (line) => {
      if (!options.json) process.stderr.write(`${line}\n`);
    },
  );
  const t = report.totals;
  printResult(!!options.json, t, () =>
    [
      `${t.produced} changes produced (${Math.round(t.sustainedInPerSecond)}/s sustained), ${t.documentsWritten} documents written (${Math.round(t.sustainedOutPerSecond)}/s sustained)`,
      `freshness: median p50 ${t.freshness.medianOfP50?.toFixed(2) ?? '-'} s, median p99 ${t.freshness.medianOfP99?.toFixed(2) ?? '-'} s, worst p99 ${t.freshness.maxOfP99?.toFixed(2) ?? '-'} s`,
      t.exact
        ? `exact: every key's last write of ${t.expectedKeys} is in the index (${t.exactAfterSeconds.toFixed(1)} s after the generators ended)`
        : `NOT EXACT after ${t.exactAfterSeconds.toFixed(0)} s: ${t.mismatch}`,
      ...report.processes.map(
        (p) =>
          `  ${p.name.padEnd(12)} cpu ${p.cpuSeconds.toFixed(1)} s (${(100 * p.cpuShare).toFixed(0)} %), peak RSS ${p.peakRssMiB.toFixed(0)} MiB`,
      ),
      `report: ${options.out}/report.json, chart: ${options.out}/report.svg`,
    ].join('\n'),
  );
  if (!t.exact) process.exitCode = EXIT.negative;
}

/** Where results of this deployment's load tests are kept (the buffer's Redis, the cluster's prefix). */
const resultPrefix = (settings: SettingValues) => `${settings.redisPrefix}:${settings.cluster}`;

function registerReport(loadtest: Command): void {
  loadtest
    .command('report')
    .description(
      'the results generators left under a run (--run), together: totals, rates, and whether the index holds every key’s last write',
    )
    .requiredOption('--run <id>', 'the run the generators were given')
    .option('--timeout <s>', 'how long to wait for the index to become exact', '300')
    .option('--json', 'machine-readable output')
    .action(async (options: { run: string; timeout: string; json?: boolean }, command: Command) => {
      const settings = settingsOf(command);
      const { waitExact } = await import('./loadtest-exact.ts');
      const closers = new CloseList();
      let results: Awaited<ReturnType<typeof readResults>>;
      try {
        const redis = await openBufferRedis(settings, closers, { name: 'loadtest' });
        results = await readResults(redis, resultPrefix(settings), options.run);
      } finally {
        await closers.close();
      }
      if (results.length === 0) throw new Error(`no generator has reported under run ${options.run}`);
      const instances = results[0]?.instances ?? 0;
      const missing = Array.from({ length: instances }, (_, i) => i).filter(
        (i) => !results.some((r) => r.instance === i),
      );
      const database = results[0]?.database as string;
      const exactness = await waitExact(
        settings,
        database,
        mergeExpected(results.map((r) => r.expected)),
        whole('--timeout', options.timeout, 0) * 1000,
      );
      const produced = results.reduce((sum, r) => sum + r.stats.messages, 0);
      const summary = {
        run: options.run,
        database,
        topic: results[0]?.topic,
        generators: results.map((r) => ({
          instance: r.instance,
          messages: r.stats.messages,
          perSecond: r.stats.perSecond,
          seconds: r.stats.seconds,
          finishedAt: new Date(r.finishedAt).toISOString(),
        })),
        missing,
        produced,
        perSecond: results.reduce((sum, r) => sum + r.stats.perSecond, 0),
        ...exactness,
      };
      printResult(!!options.json, summary, () =>
        [
          `run ${options.run}: ${results.length} of ${instances} generators reported${missing.length ? ` (missing: ${missing.join(', ')})` : ''}`,
          ...summary.generators.map(
            (g) =>
              `  generator ${g.instance}: ${g.messages} messages in ${g.seconds.toFixed(1)} s (${Math.round(g.perSecond)}/s)`,
          ),
          `${produced} messages, ${Math.round(summary.perSecond)}/s together`,
          exactness.exact
            ? `exact: every key's last write of ${exactness.keys} is in the index`
            : `NOT EXACT after ${exactness.seconds.toFixed(0)} s: ${exactness.mismatch}`,
        ].join('\n'),
      );
      if (!exactness.exact || missing.length > 0) process.exitCode = EXIT.negative;
    });
}
