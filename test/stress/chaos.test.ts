// The short chaos run (one round of every fault) as part of `npm test`. It restarts the stack's
// servers, so it runs last (test files run one at a time, in path order; test/stress sorts last).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAULT_KINDS } from '../chaos/faults.ts';
import { renderReport, runChaos } from '../chaos/run.ts';

test('chaos (short): every fault once under load; nothing missing, stale or extra; a replay changes nothing', async () => {
  const report = await runChaos({
    rounds: FAULT_KINDS.length,
    minOperations: 0,
    operationsPerSecond: 250,
    esOutageMs: 60_000,
    seed: 20261122,
    log: (text) => process.stdout.write(`# ${text}\n`),
  });
  process.stdout.write(`${renderReport(report).replace(/^/gm, '# ')}\n`);
  assert.deepEqual(
    report.faults.map((f) => f.kind).sort(),
    [...FAULT_KINDS, 'replay'].sort(),
    'every fault was injected',
  );
  assert.ok(report.operations > 1000, `${report.operations} operations ran`);
  assert.ok(
    report.outages.length === 1 && report.outages.every((o) => o.ingestPaused),
    'ingest paused at the watermark while Elasticsearch was down',
  );
  assert.deepEqual([report.missing, report.stale, report.extra], [0, 0, 0]);
  for (const diff of report.diffs)
    assert.ok(diff.rows > 0 || diff.table.endsWith('hot_counters'), `${diff.table} has rows`);
  assert.ok(report.replay.messages > 0);
  assert.equal(report.replay.refused, report.replay.messages, 'every replayed message was refused');
  assert.equal(report.replay.indexUnchanged, true);
});
