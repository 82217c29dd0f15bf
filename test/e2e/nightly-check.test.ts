// The nightly check on a cluster of 3 workers (cron set to every few seconds): each tick is checked
// by exactly one worker and stored once, and with SLUICE_CHECK_REPAIR what it found is repaired.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let db: mysql.Connection;

before(async () => {
  pipeline = await createPipeline({
    env: { SLUICE_CHECK_SCHEDULE: '*/3 * * * * *', SLUICE_CHECK_REPAIR: 'true' },
  });
  db = await mysql.createConnection({ uri: stack().sourceMysqlUrl });
  await db.query(`CREATE DATABASE \`${pipeline.database}\``);
  await pipeline.start('ingest');
  await db.query(`CREATE TABLE \`${pipeline.database}\`.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)`);
  await db.query(`INSERT INTO \`${pipeline.database}\`.t VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
  const first = await pipeline.start('worker', 'worker-0', { SLUICE_CHECK_SCHEDULE: 'off' });
  await pipeline.waitConverged(['t']);
  await first.stop();
});

after(async () => {
  await db?.end();
  await pipeline?.close();
});

test('3 workers: every scheduled check runs once, and a difference it finds is repaired', async () => {
  const workers = [
    await pipeline.start('worker'),
    await pipeline.start('worker'),
    await pipeline.start('worker'),
  ];
  const meta = await mysql.createConnection({ uri: pipeline.metaUrl });
  try {
    // Behind Sluice's back: a document goes missing.
    const index = pipeline.mapping.defaultIndex(pipeline.database, 't');
    await pipeline.es.request({ method: 'DELETE', path: `/${index}/_doc/2` });
    const runs = await waitFor(
      'three finished nightly checks',
      async () => {
        const [rows] = await meta.query<mysql.RowDataPacket[]>(
          "SELECT id, schedule_key FROM check_runs WHERE trigger_kind = 'nightly' AND finished_time IS NOT NULL ORDER BY id",
        );
        return rows.length >= 3 ? rows : undefined;
      },
      { timeoutMs: 60_000 },
    );
    await Promise.all(workers.map((w) => w.stop()));
    const keys = runs.map((r) => String(r.schedule_key));
    assert.equal(new Set(keys).size, keys.length, 'one stored run per tick');
    const started = workers.flatMap((w) =>
      readFileSync(w.logFile, 'utf8')
        .split('\n')
        .filter((line) => line.includes('"nightly check starts"'))
        .map((line) => String((JSON.parse(line) as { job: string }).job)),
    );
    const [all] = await meta.query<mysql.RowDataPacket[]>(
      "SELECT COUNT(*) AS n FROM check_runs WHERE trigger_kind = 'nightly'",
    );
    assert.equal(
      new Set(started).size,
      started.length,
      `no tick taken by two workers: ${started.join(', ')}`,
    );
    assert.equal(started.length, Number(all[0]?.n), 'every job taken made exactly one run');
    const [found] = await meta.query<mysql.RowDataPacket[]>(
      'SELECT doc_id, kind FROM check_differences WHERE table_name = ? ORDER BY run_id LIMIT 1',
      [`${pipeline.database}.t`],
    );
    assert.deepEqual(
      found.map((r) => [String(r.doc_id), String(r.kind)]),
      [['2', 'missing']],
    );
  } finally {
    await meta.end();
  }
  // The repair after the check put it back (a worker flushes it: start one again).
  await pipeline.start('worker');
  await pipeline.waitConverged(['t']);
});
