// DDL by policy, end to end on the real stack (docs/types.md, "DDL"). Canal publishes every DDL
// statement to partition 0 and a table's rows to the table's own partition, so these tests hold
// changes in the buffer (no worker running) across the statement: the index must still come out
// equal to the table.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Connection } from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { metricSum, type ServiceProcess } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let ingest: ServiceProcess;
let db: Connection;

before(async () => {
  pipeline = await createPipeline({
    mapping: (database) => ({
      unmapped: 'ignore',
      tables: {
        [`${database}.*`]: null,
        [`${database}.kept`]: { ddl: { truncate: 'keep', drop: 'keep' } },
        [`${database}.spread`]: { row_sharded: true },
      },
    }),
  });
  db = await pipeline.openSource();
  ingest = await pipeline.start('ingest');
});

after(async () => {
  await db?.end();
  await pipeline?.close();
});

async function deadLetters(): Promise<Array<{ reason: string; table_name: string; detail: string }>> {
  const rows = await pipeline.queryMeta('SELECT reason, table_name, detail FROM dead_letter ORDER BY id');
  return rows as Array<{ reason: string; table_name: string; detail: string }>;
}

async function docCount(table: string): Promise<number> {
  const index = pipeline.mapping.defaultIndex(pipeline.database, table);
  await pipeline.es.request({ method: 'POST', path: `/${index}/_refresh` }, { ignore: [404] });
  const response = await pipeline.es.request<{ count?: number }>(
    { method: 'GET', path: `/${index}/_count` },
    { ignore: [404] },
  );
  return response.body.count ?? 0;
}

/** Waits until ingest has applied the table's TRUNCATE / DROP (its fence is written with the batch). */
async function fenceOf(table: string): Promise<void> {
  await waitFor(`the fence of ${table}`, async () => {
    const rows = await pipeline.queryMeta('SELECT fence_ts FROM table_fences WHERE table_name = ?', [
      `${pipeline.database}.${table}`,
    ]);
    return rows.length > 0 ? true : undefined;
  });
}

/** Waits until ingest has counted a DDL statement of this type and action. */
async function ddlSeen(type: string, action: string): Promise<void> {
  await waitFor(`ingest to count a ${type} (${action})`, async () =>
    (await metricSum(ingest.httpPort, 'sluice_ingest_ddl_total', { type, action })) >= 1 ? true : undefined,
  );
}

/** Waits until ingest has consumed `count` messages of the table's type. */
async function consumed(table: string, type: string, count: number): Promise<void> {
  await waitFor(`ingest to consume ${count} ${type} of ${table}`, async () =>
    (await metricSum(ingest.httpPort, 'sluice_ingest_messages_total', {
      table: `${pipeline.database}.${table}`,
      type,
    })) >= count
      ? true
      : undefined,
  );
}

const values = (ids: number[], label: string) => ids.map((id) => `(${id}, '${label}-${id}')`).join(', ');
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('TRUNCATE with changes buffered before and after it: the index equals the table', async () => {
  await db.query('CREATE TABLE trunc (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
  await db.query('CREATE TABLE spread (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
  let worker = await pipeline.start('worker');
  await db.query(`INSERT INTO trunc VALUES ${values(range(1, 20), 'flushed')}`);
  await db.query(`INSERT INTO spread VALUES ${values(range(1, 40), 'flushed')}`);
  await pipeline.waitConverged(['trunc', 'spread']);
  assert.equal(await docCount('trunc'), 20);

  // No worker: everything below waits in the buffer, on both sides of the TRUNCATE.
  await worker.stop('SIGTERM');
  await db.query("UPDATE trunc SET v = CONCAT(v, '-updated') WHERE id <= 10");
  await db.query(`INSERT INTO trunc VALUES ${values(range(21, 30), 'buffered')}`);
  await db.query("UPDATE spread SET v = 'buffered' WHERE id > 20");
  await db.query('TRUNCATE TABLE trunc');
  await db.query('TRUNCATE TABLE spread');
  await db.query(
    `INSERT INTO trunc VALUES ${values(range(1, 5), 'after')}, ${values(range(40, 45), 'after')}`,
  );
  await db.query(`INSERT INTO spread VALUES ${values(range(35, 50), 'after')}`);
  await fenceOf('trunc');
  await fenceOf('spread');
  await consumed('trunc', 'INSERT', 3);
  await consumed('spread', 'INSERT', 2);

  worker = await pipeline.start('worker');
  const diffs = await pipeline.waitConverged(['trunc', 'spread']);
  assert.deepEqual(
    diffs.map((d) => [d.table.split('.')[1], d.rows, d.docs]),
    [
      ['trunc', 11, 11],
      ['spread', 16, 16],
    ],
  );
  assert.ok(
    (await metricSum(worker.httpPort, 'sluice_sweep_docs_total', { result: 'removed' })) >= 15 + 19,
    'the sweep removed the documents of rows the TRUNCATE took',
  );
  assert.ok(
    (await metricSum(worker.httpPort, 'sluice_sweep_docs_total', { result: 'buffered_deleted' })) >= 5 + 10,
    'buffered changes of rows the TRUNCATE took were written as deletes',
  );
  await worker.stop('SIGTERM');
});

test('DROP TABLE, then CREATE TABLE of the same name: the index equals the new table', async () => {
  const worker = await pipeline.start('worker');
  await db.query('CREATE TABLE again (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
  await db.query(`INSERT INTO again VALUES ${values(range(1, 30), 'old')}`);
  await pipeline.waitConverged(['again']);
  await db.query('DROP TABLE again');
  await db.query('CREATE TABLE again (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL, born DATE NULL)');
  await db.query(`INSERT INTO again (id, v, born) VALUES (3, 'new-3', '2024-02-29'), (31, 'new-31', NULL)`);
  await fenceOf('again');
  const [diff] = await pipeline.waitConverged(['again']);
  assert.deepEqual([diff?.rows, diff?.docs], [2, 2]);
  const index = pipeline.mapping.defaultIndex(pipeline.database, 'again');
  const mapping = await pipeline.es.request<
    Record<string, { mappings: { properties: Record<string, { type: string }> } }>
  >({ method: 'GET', path: `/${index}/_mapping` });
  assert.equal(
    Object.values(mapping.body)[0]?.mappings.properties.born?.type,
    'date',
    'the new column is mapped',
  );
  await worker.stop('SIGTERM');
});

test('a table whose policy keeps its documents keeps them through TRUNCATE and DROP TABLE', async () => {
  const worker = await pipeline.start('worker');
  await db.query('CREATE TABLE kept (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
  await db.query(`INSERT INTO kept VALUES ${values(range(1, 10), 'kept')}`);
  await pipeline.waitConverged(['kept']);
  await db.query('TRUNCATE TABLE kept');
  await ddlSeen('TRUNCATE', 'kept');
  await db.query("INSERT INTO kept VALUES (99, 'after')");
  await waitFor('the row inserted after the TRUNCATE', async () =>
    (await docCount('kept')) === 11 ? true : undefined,
  );
  await db.query('DROP TABLE kept');
  await ddlSeen('ERASE', 'kept');
  await new Promise((resolve) => setTimeout(resolve, 7000)); // two flush windows: a sweep would have run
  assert.equal(await docCount('kept'), 11, 'the documents stay after DROP TABLE too');
  const fences = await pipeline.queryMeta('SELECT table_name FROM table_fences WHERE table_name = ?', [
    `${pipeline.database}.kept`,
  ]);
  assert.deepEqual(fences, [], 'a kept table gets no fence');
  await worker.stop('SIGTERM');
});

test('ADD COLUMN: the new column is mapped from its type before its first row is written', async () => {
  const worker = await pipeline.start('worker');
  await db.query('CREATE TABLE grow (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL)');
  await db.query("INSERT INTO grow VALUES (1, 'one')");
  await pipeline.waitConverged(['grow']);
  await db.query('ALTER TABLE grow ADD COLUMN price DECIMAL(8,2) NULL, ADD COLUMN at DATETIME(3) NULL');
  await db.query("INSERT INTO grow VALUES (2, 'two', 1.50, '2024-02-29 13:14:15.678')");
  const index = pipeline.mapping.defaultIndex(pipeline.database, 'grow');
  const doc = await waitFor('row 2 in the index', async () => {
    const response = await pipeline.es.request<{ _source?: Record<string, unknown> }>(
      { method: 'GET', path: `/${index}/_doc/2` },
      { ignore: [404] },
    );
    return response.body._source;
  });
  assert.deepEqual(doc, { id: 2, v: 'two', price: '1.50', at: '2024-02-29T13:14:15.678' });
  const mapping = await pipeline.es.request<
    Record<string, { mappings: { dynamic: string; properties: Record<string, { type: string }> } }>
  >({ method: 'GET', path: `/${index}/_mapping` });
  const mappings = Object.values(mapping.body)[0]?.mappings;
  assert.equal(mappings?.properties.price?.type, 'double', 'mapped from DECIMAL, not guessed from "1.50"');
  assert.equal(mappings?.properties.at?.type, 'date');
  await worker.stop('SIGTERM');

  // Only the ALTER that changed columns needs a human (row 1's document lacks the new columns);
  // CREATE, TRUNCATE and DROP left no dead letter.
  const dead = await deadLetters();
  assert.deepEqual(
    dead.map((d) => [d.reason, d.table_name]),
    [['ddl_not_applied', `${pipeline.database}.grow`]],
  );
  assert.match(dead[0]?.detail ?? '', /ALTER: ALTER TABLE grow ADD COLUMN price/);
});
