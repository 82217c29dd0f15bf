// `npm run bench:loadtest` — `sluice loadtest --generators 3 --ingest 2 --workers 3` on the local
// stack, its phases as the command runs them (ramp, sustained, scale 3 → 6 → 3 workers, kill -9 of an
// ingest, drain), into a topic of its own. Copies the chart to docs/loadtest.svg and rewrites the
// "loadtest" section of docs/benchmarks.md from the report. A benchmark, not a test.
//
//   BENCH_RATE (default 6000 changes/s in all), BENCH_PHASE_SECONDS (20), BENCH_KEYS (200000 ids per
//   table), BENCH_TABLES (4), BENCH_ZIPF (1.1)
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSluice } from '../support/cli.ts';
import { createTopic } from '../support/kafka.ts';
import { createPipeline } from '../support/pipeline.ts';
import { repoRoot } from '../support/stack.ts';
import { machine, writeSection } from './report.ts';

const settings = {
  rate: Number(process.env.BENCH_RATE ?? 6000),
  phaseSeconds: Number(process.env.BENCH_PHASE_SECONDS ?? 20),
  keys: Number(process.env.BENCH_KEYS ?? 200_000),
  tables: Number(process.env.BENCH_TABLES ?? 4),
  zipf: Number(process.env.BENCH_ZIPF ?? 1.1),
};

const pipeline = await createPipeline();
const topic = `${pipeline.id}-load`;
const out = mkdtempSync(join(tmpdir(), 'sluice-bench-loadtest-'));
try {
  await createTopic(topic, 8);
  const args = [
    ...['loadtest', '--generators', '3', '--ingest', '2', '--workers', '3', '--rate', String(settings.rate)],
    ...['--phase-seconds', String(settings.phaseSeconds), '--tables', String(settings.tables)],
    ...['--keys', String(settings.keys), '--zipf', String(settings.zipf), '--seed', '3'],
    ...['--database', pipeline.database, '--topic', topic, '--out', out],
  ];
  process.stdout.write(`sluice ${args.join(' ')}\n`);
  const run = await runSluice(args, pipeline.env, 30 * 60_000);
  process.stdout.write(run.stdout);
  if (run.code !== 0) throw new Error(`loadtest exited ${run.code}: ${run.stderr}`);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
    totals: {
      produced: number;
      documentsWritten: number;
      exact: boolean;
      exactAfterSeconds: number;
      expectedKeys: number;
      sustainedInPerSecond: number;
      sustainedOutPerSecond: number;
      freshness: { medianOfP50?: number; medianOfP99?: number; maxOfP99?: number };
    };
    phases: Array<{ name: string; start: number; end?: number }>;
    processes: Array<{
      name: string;
      role: string;
      cpuSeconds: number;
      cpuShare: number;
      peakRssMiB: number;
    }>;
  };
  copyFileSync(join(out, 'report.svg'), `${repoRoot}docs/loadtest.svg`);
  const t = report.totals;
  const s = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(2)} s`);
  const rows = report.processes
    .map(
      (p) =>
        `| ${p.name} | ${p.role} | ${p.cpuSeconds.toFixed(1)} s | ${(100 * p.cpuShare).toFixed(0)} % | ${p.peakRssMiB.toFixed(0)} MiB |`,
    )
    .join('\n');
  const phases = report.phases
    .filter((p) => p.end !== undefined)
    .map((p) => `${p.name} ${((p.end as number) - p.start).toFixed(0)} s`)
    .join(', ');
  writeSection(
    'loadtest',
    `## Load test (\`npm run bench:loadtest\`)

\`sluice loadtest --generators 3 --ingest 2 --workers 3 --rate ${settings.rate} --phase-seconds ${settings.phaseSeconds} --tables ${settings.tables} --keys ${settings.keys} --zipf ${settings.zipf}\`
on ${machine()}, every process on this machine with the local stack; ${new Date().toISOString().slice(0, 10)}.
Phases: ${phases}. The chart is [loadtest.svg](loadtest.svg).

| figure | value |
|---|---|
| changes produced | ${t.produced.toLocaleString('en-US')} (sustained phase ${Math.round(t.sustainedInPerSecond).toLocaleString('en-US')}/s into the topic) |
| documents written | ${t.documentsWritten.toLocaleString('en-US')} (sustained phase ${Math.round(t.sustainedOutPerSecond).toLocaleString('en-US')}/s; ${(t.documentsWritten / t.produced).toFixed(2)} Elasticsearch writes per change) |
| freshness (workers' histogram, per second) | median p50 ${s(t.freshness.medianOfP50)}, median p99 ${s(t.freshness.medianOfP99)}, worst p99 ${s(t.freshness.maxOfP99)} |
| exact | ${t.exact ? `yes: every key's last write of ${t.expectedKeys.toLocaleString('en-US')} in the index ${t.exactAfterSeconds.toFixed(1)} s after the generators ended` : 'NO'} |

| process | role | CPU | CPU share of its life | peak RSS |
|---|---|---|---|---|
${rows}

On two cores the generators, three workers, two ingest processes and every server of the stack
share the machine: the figures say what Sluice does beside its own load, not its ceiling.`,
  );
} finally {
  await pipeline.close();
}
