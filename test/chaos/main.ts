// `npm run chaos` (short: one round of each fault) or `npm run chaos -- --long` (≥ 21 rounds and
// ≥ 200,000 operations; its table goes to docs/chaos.md). Exit code 1 when anything was lost,
// stale or extra, or the replay changed the index.
import { writeFileSync } from 'node:fs';
import { machine } from '../bench/report.ts';
import { repoRoot } from '../support/stack.ts';
import { FAULT_KINDS } from './faults.ts';
import { renderReport, runChaos } from './run.ts';

const long = process.argv.includes('--long');
const options = long
  ? { rounds: 3 * FAULT_KINDS.length, minOperations: 200_000, operationsPerSecond: 700, esOutageMs: 60_000 }
  : { rounds: FAULT_KINDS.length, minOperations: 0, operationsPerSecond: 250, esOutageMs: 60_000 };
const report = await runChaos({
  ...options,
  seed: Number(process.env.CHAOS_SEED ?? Date.now() % 100_000),
  log: (t) => process.stdout.write(`${t}\n`),
});
const table = renderReport(report);
process.stdout.write(`\n${table}\n`);
if (long) {
  writeFileSync(
    `${repoRoot}docs/chaos.md`,
    `# Chaos run (\`npm run chaos -- --long\`)

Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}, against the local stack: a random MariaDB workload
(${options.operationsPerSecond} statements/s: inserts, updates, deletes, re-inserts, primary-key changes, a
composite-key table, hot rows) through Canal → Kafka → 1 ingest → Redis → 3 workers → Elasticsearch,
with ${options.rounds} faults in random order, then quiescence, a full comparison of every table with its
index, and a replay of the whole topic from the earliest offsets. Recovery time = from the end of
the fault (process replaced, server up again) until a canary value written after it (the canary row
is updated every 250 ms) is visible in Elasticsearch; the freshness gap = the oldest the canary
document in Elasticsearch ever was.

${table}
`,
  );
}
const clean =
  report.missing + report.stale + report.extra === 0 &&
  report.replay.indexUnchanged &&
  report.replay.refused === report.replay.messages;
process.exit(clean ? 0 : 1);
