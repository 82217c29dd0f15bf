// Regression: one statement that changes many rows makes one large Canal message. A 4 MiB producer
// limit once stopped Canal for good (RecordTooLargeException, retried forever); the stack now allows
// 64 MiB, and Sluice must apply such a message whole.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';

let pipeline: Pipeline;

before(async () => {
  pipeline = await createPipeline();
  await pipeline.start('ingest');
  await pipeline.start('worker');
});

after(async () => {
  await pipeline?.close();
});

test('a single INSERT of about 8 MiB of rows arrives whole', async () => {
  const db = await pipeline.openSource();
  try {
    await db.query('CREATE TABLE wide (id INT PRIMARY KEY, body TEXT NOT NULL)');
    const rows = Array.from({ length: 2000 }, (_, i) => [i + 1, `${i}:${'w'.repeat(4000)}`]);
    await db.query('INSERT INTO wide (id, body) VALUES ?', [rows]);
  } finally {
    await db.end();
  }
  const [diff] = await pipeline.waitConverged(['wide'], 180_000);
  assert.equal(diff?.docs, 2000);
});
