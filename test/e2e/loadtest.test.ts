// `sluice loadtest --kafka` against the real pipeline: three generators side by side, each its own
// instance (its own ids of every table), produce Canal flat messages straight to a topic at a rate;
// ingest and a worker carry them to Elasticsearch. Each generator writes its expected final state;
// together they name every key written: the index must hold exactly the keys whose last write was
// not a delete, each at the last rev written.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readIndexDocuments } from '@sluice/checker';
import type { EsApi } from '@sluice/sink';
import { runSluice } from '../support/cli.ts';
import { openEs } from '../support/elastic.ts';
import { createTopic } from '../support/kafka.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

const GENERATORS = 3;
const TABLES = 3;
const indexWait = { timeoutMs: 120_000, intervalMs: 2000 };
let pipeline: Pipeline;
let es: EsApi;
const topic = uniqueName('loadtest').toLowerCase();

before(async () => {
  await createTopic(topic, 4);
  pipeline = await createPipeline({
    env: { SLUICE_KAFKA_TOPICS: topic, SLUICE_KAFKA_FROM_BEGINNING: 'true' },
  });
  es = await openEs();
  await pipeline.start('ingest');
  await pipeline.start('worker');
});

after(async () => {
  await pipeline?.close();
});

test('three generators side by side: every key’s last write is in the index, deleted keys are not', async () => {
  const files = Array.from({ length: GENERATORS }, (_, i) => join(tmpdir(), `${topic}-${i}.json`));
  const runs = await Promise.all(
    files.map((file, instance) =>
      runSluice(
        [
          'loadtest',
          '--kafka',
          '--database',
          pipeline.database,
          '--topic',
          topic,
          '--messages',
          '4000',
          '--rate',
          '2000',
          '--tables',
          String(TABLES),
          '--keys',
          '1500',
          '--zipf',
          '1.1',
          '--instance',
          String(instance),
          '--instances',
          String(GENERATORS),
          '--seed',
          '42',
          '--expected',
          file,
          '--run',
          topic,
          '--json',
        ],
        pipeline.env,
      ),
    ),
  );
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  const produced = runs.map(
    (r) => JSON.parse(r.stdout) as { messages: number; byType: Record<string, number> },
  );
  assert.deepEqual(
    produced.map((p) => p.messages),
    [4000, 4000, 4000],
  );
  assert.ok(produced.every((p) => (p.byType.DELETE ?? 0) > 0 && (p.byType.UPDATE ?? 0) > 0));

  const keys = await indexHoldsLastWrites(pipeline, files);

  // the same, as from pods apart: the results they left under the run, together
  const report = await runSluice(
    ['loadtest', 'report', '--run', topic, '--json', '--timeout', '30'],
    pipeline.env,
  );
  assert.equal(report.code, 0, report.stderr);
  const summary = JSON.parse(report.stdout) as {
    produced: number;
    missing: number[];
    exact: boolean;
    keys: number;
  };
  assert.deepEqual(
    [summary.produced, summary.missing, summary.exact, summary.keys],
    [12_000, [], true, keys],
  );
});

test('loadtest report names the generators that did not report, and fails', async () => {
  const run = `${topic}-partial`;
  const one = await runSluice(
    [
      ...['loadtest', '--kafka', '--database', pipeline.database, '--topic', topic, '--messages', '50'],
      ...['--tables', String(TABLES), '--keys', '1500', '--instances', '2', '--seed', '5', '--run', run],
    ],
    { ...pipeline.env, JOB_COMPLETION_INDEX: '1' },
  );
  assert.equal(one.code, 0, one.stderr);
  const report = await runSluice(['loadtest', 'report', '--run', run, '--timeout', '0'], pipeline.env);
  assert.equal(report.code, 1, report.stderr);
  assert.match(report.stdout, /1 of 2 generators reported \(missing: 0\)/);
  assert.match(report.stdout, /generator 1: 50 messages/);
});

/** The generators' expected states together; the index holds each key's last write, no deleted key. */
async function indexHoldsLastWrites(pipeline: Pipeline, files: string[]): Promise<number> {
  // the generators' expected states together: per table, id → last rev (null: deleted)
  const expected = new Map<string, Map<string, number | null>>();
  for (const file of files) {
    const state = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, number | null>>;
    for (const [table, rows] of Object.entries(state)) {
      const merged = expected.get(table) ?? new Map<string, number | null>();
      for (const [id, rev] of Object.entries(rows)) {
        assert.ok(!merged.has(id), `${table} ${id} written by two generators`);
        merged.set(id, rev);
      }
      expected.set(table, merged);
    }
  }

  let mismatch = '';
  await waitFor(
    'every key’s last write to be in the index',
    async () => {
      for (const [table, rows] of expected) {
        const index = pipeline.mapping.defaultIndex(pipeline.database, table);
        await es.request({ method: 'POST', path: `/${index}/_refresh` }, { ignore: [404] });
        const docs = await readIndexDocuments(es, index);
        const live = [...rows].filter(([, rev]) => rev !== null);
        if (docs.size !== live.length) {
          mismatch = `${table}: ${docs.size} documents, ${live.length} expected`;
          return undefined;
        }
        for (const [id, rev] of live) {
          const doc = docs.get(id) as { rev?: number } | undefined;
          if (doc?.rev !== rev) {
            mismatch = `${table} ${id}: rev ${doc?.rev} in the index, ${rev} expected`;
            return undefined;
          }
        }
      }
      return true;
    },
    indexWait,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${mismatch}`);
  });
  return [...expected.values()].reduce((sum, rows) => sum + rows.size, 0);
}

test('sluice loadtest --generators 2 --ingest 2 --workers 1: every phase runs, the report and chart are written, the totals match the index', async () => {
  const whole = await createPipeline();
  const wholeTopic = `${topic}-whole`;
  await createTopic(wholeTopic, 4);
  const out = mkdtempSync(join(tmpdir(), 'sluice-loadtest-'));
  try {
    const run = await runSluice(
      [
        ...['loadtest', '--generators', '2', '--ingest', '2', '--workers', '1', '--rate', '1500'],
        ...['--phase-seconds', '4', '--tables', '2', '--keys', '2000', '--seed', '9'],
        ...['--database', whole.database, '--topic', wholeTopic, '--out', out, '--json'],
      ],
      whole.env,
      300_000,
    );
    assert.equal(run.code, 0, `${run.stderr}\n${run.stdout}`);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      phases: Array<{ name: string }>;
      events: Array<{ what: string }>;
      totals: {
        produced: number;
        topicMessages: number;
        exact: boolean;
        expectedKeys: number;
        documentsWritten: number;
      };
      processes: Array<{ name: string; role: string; cpuSeconds: number; peakRssMiB: number }>;
      samples: Array<{ inPerSecond: number; outPerSecond: number }>;
    };
    assert.deepEqual(
      report.phases.map((p) => p.name),
      ['start', 'ramp', 'sustained', 'scale', 'fault', 'drain'],
    );
    assert.deepEqual(
      report.events.map((e) => e.what),
      ['2 workers', '1 worker', 'kill -9 ingest-0', 'ingest-2 started'],
    );
    assert.equal(report.totals.exact, true);
    assert.equal(
      report.totals.produced,
      report.totals.topicMessages,
      'every message produced is in the topic',
    );
    const files = [0, 1].map((i) => join(out, `expected-${i}.json`));
    assert.equal(
      await indexHoldsLastWrites(whole, files),
      report.totals.expectedKeys,
      'the report counts every key',
    );
    assert.ok(report.totals.documentsWritten > 0 && report.totals.documentsWritten <= report.totals.produced);
    assert.deepEqual(report.processes.map((p) => p.name).sort(), [
      'generator-0',
      'generator-1',
      'ingest-0',
      'ingest-1',
      'ingest-2',
      'worker-0',
      'worker-1',
    ]);
    assert.ok(
      report.processes.every((p) => p.cpuSeconds > 0 && p.peakRssMiB > 20),
      JSON.stringify(report.processes),
    );
    assert.ok(
      report.samples.some((s) => s.inPerSecond > 500) && report.samples.some((s) => s.outPerSecond > 0),
    );
    const svg = readFileSync(join(out, 'report.svg'), 'utf8');
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(
      (svg.match(/<polyline /g) ?? []).length,
      5,
      'three throughput lines and two freshness lines',
    );
    assert.match(svg, /kill -9 ingest-0/);
  } finally {
    await whole.close();
  }
});
