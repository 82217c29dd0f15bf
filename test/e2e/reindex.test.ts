// `sluice reindex` against the real stack: a table's index is rebuilt from MySQL into a new physical
// index behind its alias while a write load changes, adds and deletes rows; the run is killed with -9
// in the middle and resumes from its checkpoint; a search of the alias in a loop never misses a
// document, before, during or after the swap; afterwards the alias names the new index, with the new
// mapping, the old one is gone and the index equals the table. A concrete index made before aliases
// becomes an alias; a mapping the rows do not fit is refused without a swap.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import { runSluice } from '../support/cli.ts';
import { sourceLoop } from '../support/mysql.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { repoRoot, stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const ROWS = 10_000;
let pipeline: Pipeline;
let db: mysql.Connection;
const mappingOf = (database: string, tables: Record<string, unknown> = {}) => ({
  unmapped: 'ignore',
  tables: { ...tables, [`${database}.*`]: null },
});

before(async () => {
  pipeline = await createPipeline({
    env: { SLUICE_RESYNC_CHUNK_ROWS: '500' },
    mapping: (database) => mappingOf(database),
  });
  db = await mysql.createConnection({ uri: stack().sourceMysqlUrl });
  await db.query(`CREATE DATABASE \`${pipeline.database}\``);
  // An index made before Sluice's indices were aliases: a concrete index under the name itself.
  await pipeline.es.request({
    method: 'PUT',
    path: `/${pipeline.mapping.defaultIndex(pipeline.database, 'legacy')}`,
    body: { settings: { 'index.number_of_replicas': 0 } },
  });
  await pipeline.start('ingest');
  await pipeline.start('worker');
  for (const table of ['items', 'legacy']) {
    await db.query(
      `CREATE TABLE \`${pipeline.database}\`.\`${table}\` (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, qty INT NOT NULL)`,
    );
  }
  for (let start = 1; start <= ROWS; start += 2000) {
    const values = Array.from({ length: 2000 }, (_, i) => `(${start + i}, 'item ${start + i}', ${i})`);
    await db.query(`INSERT INTO \`${pipeline.database}\`.items VALUES ${values.join(',')}`);
  }
  const legacy = Array.from({ length: 300 }, (_, i) => `(${i + 1}, 'legacy ${i + 1}', ${i})`);
  await db.query(`INSERT INTO \`${pipeline.database}\`.legacy VALUES ${legacy.join(',')}`);
  await pipeline.waitConverged(['items', 'legacy']);
});

after(async () => {
  await db?.end();
  await pipeline?.close();
});

/** Updates the first rows, inserts rows above ROWS and deletes some of those, until stopped. */
function writeLoad(): { stop(): Promise<number> } {
  const t = `\`${pipeline.database}\`.items`;
  return sourceLoop((conn, n) => {
    const pick = n % 10;
    if (pick < 6)
      return conn.query(`UPDATE ${t} SET qty = qty + 1, name = ? WHERE id = ?`, [
        `u${n}`,
        ((n * 7919) % ROWS) + 1,
      ]);
    if (pick < 9) return conn.query(`INSERT INTO ${t} VALUES (?, ?, 0)`, [ROWS + n, `new ${n}`]);
    return conn.query(`DELETE FROM ${t} WHERE id = ?`, [ROWS + n - 5]);
  });
}

/** Counts the first ROWS documents through the alias as fast as it can, until stopped. */
function searchLoop(alias: string): {
  stop(): Promise<{ searches: number; lowest: number; failures: string[] }>;
} {
  let running = true;
  const done = (async () => {
    let searches = 0;
    let lowest = Number.POSITIVE_INFINITY;
    const failures: string[] = [];
    while (running) {
      try {
        const found = await pipeline.es.request<{ count: number }>({
          method: 'POST',
          path: `/${alias}/_count`,
          body: { query: { range: { id: { gte: 1, lte: ROWS } } } },
        });
        lowest = Math.min(lowest, found.body.count);
      } catch (error) {
        failures.push((error as Error).message);
      }
      searches++;
    }
    return { searches, lowest, failures };
  })();
  return {
    stop: async () => {
      running = false;
      return done;
    },
  };
}

const aliasTargets = async (alias: string) =>
  Object.keys(
    (await pipeline.es.request<Record<string, unknown>>({ method: 'GET', path: `/_alias/${alias}` })).body,
  );

const fieldType = async (alias: string, field: string) => {
  const mapping = await pipeline.es.request<
    Record<string, { mappings: { properties: Record<string, { type?: string }> } }>
  >({ method: 'GET', path: `/${alias}/_mapping` });
  return Object.values(mapping.body)[0]?.mappings.properties[field]?.type;
};

interface Result {
  alias: string;
  target: string;
  rows: number;
  resumedAt: number;
  previous: string | null;
}

test('reindex under a write load, killed with -9 and resumed: no search misses a document; converges with the new mapping', async () => {
  const table = `${pipeline.database}.items`;
  const alias = pipeline.mapping.defaultIndex(pipeline.database, 'items');
  assert.deepEqual(await aliasTargets(alias), [`${alias}-sluice-1`], 'Sluice made the index as an alias');
  assert.equal(await fieldType(alias, 'name'), 'text');
  // The mapping change the reindex is for: names searched as keywords.
  pipeline.setMapping(
    mappingOf(pipeline.database, { [table]: { columns: { strings: { name: 'keyword' } } } }),
  );

  const load = writeLoad();
  const searches = searchLoop(alias);
  try {
    const child = spawn(
      process.execPath,
      [`${repoRoot}services/cli/bin/sluice.js`, 'reindex', table, '--rate', '1500'],
      {
        env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', ...pipeline.env },
        stdio: 'ignore',
      },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const killedAt = await waitFor(
      'the first run to checkpoint 2,000 rows',
      async () => {
        const [job] = await pipeline.queryMeta('SELECT rows_done, state, target_index FROM reindex_jobs');
        return job && Number(job.rows_done) >= 2000 ? job : undefined;
      },
      { timeoutMs: 60_000 },
    );
    child.kill('SIGKILL');
    await exited;
    assert.equal(killedAt.state, 'building');
    assert.equal(killedAt.target_index, `${alias}-sluice-2`);
    await sleep(1000); // changes keep flowing to both indices while no reindex runs

    const second = await runSluice(['reindex', table, '--json'], pipeline.env, 180_000);
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const result = JSON.parse(second.stdout) as Result;
    assert.ok(
      result.resumedAt >= Number(killedAt.rows_done),
      `the second run resumed after the checkpoint (${killedAt.rows_done}), not from zero: ${result.resumedAt}`,
    );
    assert.equal(result.target, `${alias}-sluice-2`);
    assert.equal(result.previous, `${alias}-sluice-1`);
    await sleep(1500); // searches go on after the swap
  } finally {
    const ran = await load.stop();
    const seen = await searches.stop();
    assert.ok(ran > 100, `the load ran (${ran} statements)`);
    assert.deepEqual(seen.failures.slice(0, 3), [], 'every search of the alias answered');
    assert.ok(seen.searches > 50, `the alias was searched throughout (${seen.searches} searches)`);
    assert.equal(seen.lowest, ROWS, 'no search of the alias ever missed a document');
  }
  assert.deepEqual(await aliasTargets(alias), [`${alias}-sluice-2`]);
  const old = await pipeline.es.request({ method: 'HEAD', path: `/${alias}-sluice-1` }, { ignore: [404] });
  assert.equal(old.statusCode, 404, 'the old index is deleted');
  assert.equal(await fieldType(alias, 'name'), 'keyword', 'the new mapping is in force');
  const [diff] = await pipeline.waitConverged(['items']);
  assert.ok((diff?.docs ?? 0) > ROWS, 'rows added during the rebuild are there');
  const [job] = await pipeline.queryMeta('SELECT state FROM reindex_jobs');
  assert.equal(job?.state, 'done', 'the flushes stopped writing to both');
});

test('an index made before aliases becomes one; a mapping the rows do not fit is refused without a swap', async () => {
  const table = `${pipeline.database}.legacy`;
  const alias = pipeline.mapping.defaultIndex(pipeline.database, 'legacy');
  const concrete = await pipeline.es.request({ method: 'GET', path: `/_alias/${alias}` }, { ignore: [404] });
  assert.notEqual(concrete.statusCode, 200, 'a concrete index, not an alias, before');

  pipeline.setMapping(
    mappingOf(pipeline.database, { [table]: { mappings: { properties: { name: { type: 'long' } } } } }),
  );
  const refused = await runSluice(['reindex', table, '--json'], pipeline.env);
  assert.notEqual(refused.code, 0, 'a refused document stops the reindex');
  assert.match(refused.stderr, /refused a document/);
  assert.notEqual(
    (await pipeline.es.request({ method: 'GET', path: `/_alias/${alias}` }, { ignore: [404] })).statusCode,
    200,
    'nothing was swapped',
  );
  const target = await pipeline.es.request({ method: 'HEAD', path: `/${alias}-sluice-1` }, { ignore: [404] });
  assert.equal(target.statusCode, 404, 'the refused new index is removed');

  pipeline.setMapping(mappingOf(pipeline.database));
  await db.query(`UPDATE \`${pipeline.database}\`.legacy SET qty = qty + 1 WHERE id <= 10`);
  const done = await runSluice(['reindex', table, '--json'], pipeline.env);
  assert.equal(done.code, 0, done.stdout + done.stderr);
  assert.equal((JSON.parse(done.stdout) as Result).previous, alias, 'the legacy index was the source');
  assert.deepEqual(await aliasTargets(alias), [`${alias}-sluice-1`]);
  await db.query(`UPDATE \`${pipeline.database}\`.legacy SET qty = qty + 1 WHERE id > 290`);
  await pipeline.waitConverged(['legacy']);
});
