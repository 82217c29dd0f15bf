// `sluice check` and `sluice repair` against the real stack: the check finds exactly the differences
// made behind Sluice's back (documents deleted, edited and added in Elasticsearch; rows changed in
// MySQL with the binary log off, as if the sync had stopped) and none on an exact copy under a write
// load; the report is stored (--last); repair --from-last-check under a write load on the same rows
// leaves the index equal to the table. On each source: on the Redis Stream path the re-sync's versions
// come from the streams' ends, as they come from Kafka's partition ends on the other.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import mysql from 'mysql2/promise';
import { runSluice } from '../support/cli.ts';
import { sourceLoop } from '../support/mysql.ts';
import { createPipeline, PIPELINE_SOURCES, type Pipeline, type PipelineSource } from '../support/pipeline.ts';
import { stack } from '../support/stack.ts';

for (const source of PIPELINE_SOURCES) describe(`from ${source}`, () => checkAndRepair(source));

function checkAndRepair(source: PipelineSource): void {
  let pipeline: Pipeline;
  let db: mysql.Connection;
  let index: string;
  const ROWS = 300;

  interface Report {
    tables: Array<{
      rows: number;
      docs: number;
      missing: number;
      stale: number;
      extra: number;
      ids: Record<'missing' | 'stale' | 'extra', string[]>;
    }>;
  }

  before(async () => {
    pipeline = await createPipeline({ source });
    db = await mysql.createConnection({ uri: stack().sourceMysqlUrl });
    await db.query(`CREATE DATABASE \`${pipeline.database}\``);
    await pipeline.start('ingest');
    await pipeline.start('worker');
    await db.query(
      `CREATE TABLE \`${pipeline.database}\`.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT NOT NULL)`,
    );
    const values = Array.from({ length: ROWS }, (_, i) => `(${i + 1}, 'item ${i + 1}', ${i})`).join(',');
    await db.query(`INSERT INTO \`${pipeline.database}\`.items VALUES ${values}`);
    await pipeline.waitConverged(['items']);
    index = pipeline.mapping.defaultIndex(pipeline.database, 'items');
  });

  after(async () => {
    await db?.end();
    await pipeline?.close();
  });

  /** Updates random rows among `ids` through the binlog until stopped. */
  function writeLoad(ids: number[]): { stop(): Promise<number> } {
    return sourceLoop((conn, n) =>
      conn.query(`UPDATE \`${pipeline.database}\`.items SET qty = qty + 1 WHERE id = ?`, [
        ids[n % ids.length],
      ]),
    );
  }

  const check = async (...args: string[]) => {
    const result = await runSluice(
      ['check', '--table', `${pipeline.database}.items`, '--json', ...args],
      pipeline.env,
    );
    return { code: result.code, report: JSON.parse(result.stdout || '{}') as Report, stderr: result.stderr };
  };

  test('an exact copy under a write load has no differences', async () => {
    const load = writeLoad(Array.from({ length: 50 }, (_, i) => i + 1));
    let result: Awaited<ReturnType<typeof check>>;
    try {
      result = await check();
    } finally {
      assert.ok((await load.stop()) > 10, 'the load ran');
    }
    assert.equal(result.code, 0, `${result.stderr}${JSON.stringify(result.report)}`);
    const [t] = result.report.tables;
    assert.deepEqual([t?.rows, t?.docs, t?.missing, t?.stale, t?.extra], [ROWS, ROWS, 0, 0, 0]);
  });

  test('a check that cannot run exits 4, never 1 (which says "differences found")', async () => {
    const result = await runSluice(['check', '--table', `${pipeline.database}.no_such_table`], pipeline.env);
    assert.equal(result.code, 4, result.stderr);
    assert.match(result.stderr, /^sluice: .*no_such_table/m);
  });

  test('check finds exactly what was changed behind Sluice, stores it, and repair restores the table', async () => {
    await pipeline.waitConverged(['items']);
    const doc = (id: number, body: unknown) =>
      pipeline.es.request({ method: 'PUT', path: `/${index}/_doc/${id}`, body });
    for (const id of [10, 11, 12])
      await pipeline.es.request({ method: 'DELETE', path: `/${index}/_doc/${id}` });
    await doc(20, { id: 20, name: 'edited in Elasticsearch', qty: 0 });
    await doc(21, { id: 21, name: 'item 21' }); // a field lost
    await doc(9001, { id: 9001, name: 'not in MySQL', qty: 1 });
    await doc(9002, { id: 9002, name: 'not in MySQL', qty: 2 });
    await db.query('SET SESSION sql_log_bin = 0');
    await db.query(`UPDATE \`${pipeline.database}\`.items SET name = 'changed unseen' WHERE id IN (30, 31)`);
    await db.query('SET SESSION sql_log_bin = 1');

    const found = await check('--recheck-after', '500');
    assert.equal(found.code, 1, 'differences found: exit code 1');
    const [t] = found.report.tables;
    assert.deepEqual(
      {
        missing: [...(t?.ids.missing ?? [])].sort(),
        stale: [...(t?.ids.stale ?? [])].sort(),
        extra: [...(t?.ids.extra ?? [])].sort(),
      },
      { missing: ['10', '11', '12'], stale: ['20', '21', '30', '31'], extra: ['9001', '9002'] },
    );
    assert.deepEqual([t?.rows, t?.docs], [ROWS, ROWS - 3 + 2]);

    const last = await runSluice(['check', '--last', '--json'], pipeline.env);
    assert.equal(last.code, 1);
    const run = JSON.parse(last.stdout) as {
      tables: Array<{ missing: number; stale: number; extra: number }>;
    };
    assert.deepEqual(
      run.tables.map((r) => [r.missing, r.stale, r.extra]),
      [[3, 4, 2]],
    );

    // Repair while the same rows keep changing: live changes must win over the repair's reads.
    const load = writeLoad([10, 11, 20, 30, 31, 40]);
    let repaired: Awaited<ReturnType<typeof runSluice>>;
    try {
      repaired = await runSluice(
        ['repair', '--table', `${pipeline.database}.items`, '--from-last-check', '--json'],
        pipeline.env,
      );
    } finally {
      await load.stop();
    }
    assert.equal(repaired.code, 0, repaired.stderr);
    const [r] = (JSON.parse(repaired.stdout) as { tables: Array<{ upserted: number; deleted: number }> })
      .tables;
    assert.deepEqual([r?.upserted, r?.deleted], [7, 2]);
    await pipeline.waitConverged(['items']);
    const clean = await check('--recheck-after', '0');
    assert.equal(clean.code, 0, JSON.stringify(clean.report));
  });
}
