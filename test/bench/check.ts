// `npm run bench:check` — sluice backfill and sluice check on a large table (default 1,000,000 rows;
// BENCH_ROWS to change it), with an ingest and two workers running:
//   backfill: rows/s read and buffered, and until every document is in Elasticsearch; peak RSS of
//             the backfill process
//   check:    rows/s of a full check of the exact copy; peak RSS of the check process
// The rows are written with the binary log off (rows that existed before Sluice). Prints the figures
// and rewrites the "check" section of docs/benchmarks.md. Targets (issue 11): check ≤ 150 MiB RSS,
// backfill ≥ the pipeline benchmark's sustained flush rate.
// The measured sluice commands run as an image runs them: compiled to JavaScript (build/app, made
// first by deploy/image/build-app.sh) and with the heap limits deploy/k8s gives every process.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { createPipeline } from '../support/pipeline.ts';
import { SERVICE_NODE_OPTIONS } from '../support/services.ts';
import { repoRoot, stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { machine, writeSection } from './report.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const CLI_NODE_OPTIONS = process.env.BENCH_NODE_OPTIONS ?? SERVICE_NODE_OPTIONS;
const say = (text: string) => process.stdout.write(`${text}\n`);

execFileSync('bash', [`${repoRoot}deploy/image/build-app.sh`, '--link'], { stdio: 'inherit' });

const pipeline = await createPipeline({ env: { SLUICE_RESYNC_CHUNK_ROWS: '2000' } });
const db = await mysql.createConnection({ uri: stack().sourceMysqlUrl });
const table = `${pipeline.database}.big`;
try {
  await db.query(`CREATE DATABASE \`${pipeline.database}\``);
  await pipeline.start('ingest');
  await pipeline.start('worker');
  await pipeline.start('worker');
  await db.query(
    `CREATE TABLE \`${pipeline.database}\`.big (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL,
       amount DECIMAL(12,2) NOT NULL, created DATETIME(3) NOT NULL, note TEXT NULL)`,
  );
  const loadStart = Date.now();
  await db.query('SET SESSION sql_log_bin = 0');
  for (let start = 1; start <= ROWS; start += 5000) {
    const values = Array.from({ length: Math.min(5000, ROWS - start + 1) }, (_, i) => {
      const id = start + i;
      return `(${id}, 'customer ${id % 9973}', ${(id % 100000) / 100}, '2026-01-01 00:00:00.000' + INTERVAL ${id} SECOND, ${id % 7 === 0 ? 'NULL' : "'a note of some length to make the row realistic'"})`;
    });
    await db.query(`INSERT INTO \`${pipeline.database}\`.big VALUES ${values.join(',')}`);
  }
  await db.query('SET SESSION sql_log_bin = 1');
  say(`loaded ${ROWS} rows into MySQL in ${((Date.now() - loadStart) / 1000).toFixed(1)} s`);

  let runs = 0;
  /** Runs a sluice command to its end: its exit code, its output and its peak RSS (MiB). */
  const run = async (args: string[]) => {
    const peakFile = join(tmpdir(), `sluice-bench-peak-${process.pid}-${++runs}`);
    const child = spawn(process.execPath, [`${repoRoot}build/app/services/cli/bin/sluice.js`, ...args], {
      env: {
        ...process.env,
        SLUICE_LOG_LEVEL: 'warn',
        ...pipeline.env,
        NODE_OPTIONS: `${CLI_NODE_OPTIONS} --import ${repoRoot}test/bench/peak-rss-at-exit.js`,
        SLUICE_BENCH_PEAK_FILE: peakFile,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const peakMiB = Number(readFileSync(peakFile, 'utf8')) / 1024;
    rmSync(peakFile, { force: true });
    return { code, out, peakMiB };
  };

  const count = async (name = 'big') => {
    const index = pipeline.mapping.defaultIndex(pipeline.database, name);
    await pipeline.es.request({ method: 'POST', path: `/${index}/_refresh` }, { ignore: [404] });
    const r = await pipeline.es.request<{ count?: number }>(
      { method: 'GET', path: `/${index}/_count` },
      { ignore: [404] },
    );
    return r.body.count ?? 0;
  };

  // A table of 10 rows, synced through Canal: its check is a check's floor (Node, the modules, both
  // clients, the connections), so that what 1,000,000 rows add shows.
  await db.query(
    `CREATE TABLE \`${pipeline.database}\`.small (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)`,
  );
  await db.query(
    `INSERT INTO \`${pipeline.database}\`.small VALUES ${Array.from({ length: 10 }, (_, i) => `(${i + 1}, 'row ${i + 1}')`).join(',')}`,
  );
  await waitFor('the small table in Elasticsearch', async () =>
    (await count('small')) >= 10 ? true : undefined,
  );

  const backfillStart = Date.now();
  const filled = await run(['backfill', table, '--json']);
  const backfillSeconds = (Date.now() - backfillStart) / 1000;
  if (filled.code !== 0) throw new Error(`backfill failed (${filled.code})`);
  await waitFor('every document in Elasticsearch', async () => ((await count()) >= ROWS ? true : undefined), {
    timeoutMs: 3_600_000,
    intervalMs: 2000,
  });
  const indexedSeconds = (Date.now() - backfillStart) / 1000;
  say(
    `backfill: ${ROWS} rows buffered in ${backfillSeconds.toFixed(1)} s, all in Elasticsearch after ${indexedSeconds.toFixed(1)} s, peak RSS ${filled.peakMiB.toFixed(0)} MiB`,
  );

  const floor = await run([
    'check',
    '--table',
    `${pipeline.database}.small`,
    '--json',
    '--recheck-after',
    '0',
  ]);
  if (floor.code !== 0) throw new Error(`the check of the small table failed (${floor.code})`);
  say(`check of a 10-row table (the floor): peak RSS ${floor.peakMiB.toFixed(0)} MiB`);

  const checkStart = Date.now();
  const checked = await run(['check', '--table', table, '--json', '--recheck-after', '0']);
  const checkSeconds = (Date.now() - checkStart) / 1000;
  const report = JSON.parse(checked.out) as {
    tables: Array<{ missing: number; stale: number; extra: number }>;
  };
  say(
    `check: ${ROWS} rows in ${checkSeconds.toFixed(1)} s, peak RSS ${checked.peakMiB.toFixed(0)} MiB, differences ${JSON.stringify(report.tables[0])}`,
  );

  writeSection(
    'check',
    `## Check and backfill (\`npm run bench:check\`)

Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; ${ROWS.toLocaleString('en')} rows (INT key, 5 columns) written with the binary log off;
one ingest and two workers running. The measured sluice processes run compiled (build/app, as an
image runs them) with NODE_OPTIONS \`${CLI_NODE_OPTIONS}\` (as deploy/k8s gives every process).

| figure | value |
|---|---|
| backfill: rows read and buffered | ${Math.round(ROWS / backfillSeconds).toLocaleString('en')} rows/s (${backfillSeconds.toFixed(1)} s) |
| backfill: until every document is in Elasticsearch (target ≥ the pipeline section's sustained rate) | ${Math.round(ROWS / indexedSeconds).toLocaleString('en')} rows/s (${indexedSeconds.toFixed(1)} s) |
| backfill: peak RSS of the sluice process | ${filled.peakMiB.toFixed(0)} MiB |
| check of the exact copy | ${Math.round(ROWS / checkSeconds).toLocaleString('en')} rows/s (${checkSeconds.toFixed(1)} s) |
| check: peak RSS of the sluice process (target ≤ 150 MiB) | ${checked.peakMiB.toFixed(0)} MiB |
| check of a 10-row table: peak RSS (the floor: Node, modules, clients, connections) | ${floor.peakMiB.toFixed(0)} MiB |
| check: differences found | ${(report.tables[0]?.missing ?? 0) + (report.tables[0]?.stale ?? 0) + (report.tables[0]?.extra ?? 0)} |
`,
  );
} finally {
  await db.end();
  await pipeline.close();
}
