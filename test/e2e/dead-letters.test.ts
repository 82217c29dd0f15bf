// Dead letters end to end: what cannot be applied is kept with its reason and position, the rest
// keeps flowing, and after the operator fixes the cause `sluice dlq replay` applies it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Connection } from 'mysql2/promise';
import { runSluice } from '../support/cli.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import type { ServiceProcess } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let worker: ServiceProcess;
let db: Connection;

before(async () => {
  pipeline = await createPipeline({
    mapping: (database) => ({
      unmapped: 'deadletter',
      tables: { [`${database}.kept`]: null, [`${database}.strict`]: null },
    }),
  });
  await pipeline.start('ingest');
  worker = await pipeline.start('worker');
  db = await pipeline.openSource();
});

after(async () => {
  await db?.end();
  await pipeline?.close();
});

interface Entry {
  id: number;
  reason: string;
  stage: string;
  topic?: string;
  offset?: number;
  tableName?: string;
}

/** This test's dead letters of one reason (every other database's tables are unmapped here too). */
async function deadLetters(reason: string, table: string): Promise<Entry[]> {
  const result = await runSluice(
    ['dlq', 'list', '--json', '--limit', '10000', '--reason', reason],
    pipeline.env,
  );
  assert.equal(result.code, 0, result.stderr);
  const { entries } = JSON.parse(result.stdout) as { entries: Entry[] };
  return entries.filter((e) => e.tableName === `${pipeline.database}.${table}`);
}

test('an unmapped table is dead-lettered while mapped tables flow; after the mapping is fixed, replay applies it', async () => {
  await db.query('CREATE TABLE kept (id INT PRIMARY KEY, v VARCHAR(20))');
  await db.query('CREATE TABLE later (id INT PRIMARY KEY, v VARCHAR(20))');
  await db.query("INSERT INTO later VALUES (1, 'a'), (2, 'b')");
  await db.query("INSERT INTO kept VALUES (1, 'x')");
  await db.query("UPDATE later SET v = 'bb' WHERE id = 2");

  await pipeline.waitConverged(['kept']);
  const unmapped = await waitFor('two dead letters for table later', async () => {
    const found = await deadLetters('unmapped_table', 'later');
    return found.length >= 2 ? found : undefined;
  });
  for (const entry of unmapped) {
    assert.equal(entry.stage, 'ingest');
    assert.equal(typeof entry.topic, 'string');
    assert.equal(typeof entry.offset, 'number');
  }

  // The operator maps the table and restarts the worker with the new mapping, then replays.
  pipeline.setMapping({
    unmapped: 'deadletter',
    tables: {
      [`${pipeline.database}.*`]: null,
      [`${pipeline.database}.strict`]: null,
    },
  });
  await worker.stop();
  worker = await pipeline.start('worker');
  const ids = unmapped.map((d) => String(d.id));
  const replay = await runSluice(['dlq', 'replay', '--id', ...ids, '--json'], pipeline.env);
  assert.equal(replay.code, 0, replay.stdout + replay.stderr);
  assert.equal((JSON.parse(replay.stdout) as { replayed: number }).replayed, 2);
  const [diff] = await pipeline.waitConverged(['later']);
  assert.equal(diff?.docs, 2);
});

test('a document Elasticsearch refuses is dead-lettered alone; replay applies it once the index accepts it', async () => {
  // The user's own index, made before Sluice: its "extra" field is an integer, the column is text.
  const index = pipeline.mapping.defaultIndex(pipeline.database, 'strict');
  await pipeline.es.request({
    method: 'PUT',
    path: `/${index}`,
    body: {
      settings: { number_of_replicas: 0 },
      mappings: { properties: { id: { type: 'long' }, v: { type: 'keyword' }, extra: { type: 'integer' } } },
    },
  });
  await db.query('CREATE TABLE strict (id INT PRIMARY KEY, v VARCHAR(20), extra VARCHAR(20) NULL)');
  await db.query("INSERT INTO strict (id, v) VALUES (1, 'fine')");
  await db.query("INSERT INTO strict (id, v, extra) VALUES (2, 'x', 'not a number')");
  await db.query("UPDATE strict SET v = 'fine too' WHERE id = 1");
  const refused = await waitFor('the mapping dead letter of row 2', async () => {
    const found = await deadLetters('es_mapping_error', 'strict');
    return found.length >= 1 ? found : undefined;
  });
  assert.ok(refused.every((d) => d.stage === 'flush'));
  const conflicts = await deadLetters('mapping_conflict', 'strict');
  assert.equal(conflicts.length, 1, 'the conflict of column and index is reported once, not per row');

  // The user reindexes: the index is rebuilt from MySQL with the mappings the columns derive, and the
  // user's concrete index becomes an alias of Sluice's.
  const reindexed = await runSluice(['reindex', `${pipeline.database}.strict`, '--json'], pipeline.env);
  assert.equal(reindexed.code, 0, reindexed.stdout + reindexed.stderr);
  await db.query("UPDATE strict SET v = 'after reindex' WHERE id = 1");
  const replay = await runSluice(
    ['dlq', 'replay', '--id', ...refused.map((d) => String(d.id)), '--json'],
    pipeline.env,
  );
  assert.equal(replay.code, 0, replay.stdout + replay.stderr);
  const [diff] = await pipeline.waitConverged(['strict']);
  assert.equal(diff?.docs, 2);
  const pending = await runSluice(
    ['dlq', 'list', '--pending', '--json', '--reason', 'es_mapping_error', '--limit', '10000'],
    pipeline.env,
  );
  const left = (JSON.parse(pending.stdout) as { entries: Entry[] }).entries.filter((e) =>
    refused.some((r) => r.id === e.id),
  );
  assert.deepEqual(left, [], 'replayed entries are no longer pending');
});
