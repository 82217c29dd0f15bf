// Readiness follows the dependencies: with Elasticsearch stopped the worker answers 503 on
// /health/ready, naming Elasticsearch and the error, while ingest (which does not need it to consume)
// stays ready; with Elasticsearch back both are ready, and the changes made meanwhile arrive.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { type ServiceProcess, serviceGet } from '../support/services.ts';
import { stack, stackScript } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);
let pipeline: Pipeline;
let db: mysql.Connection;

before(async () => {
  pipeline = await createPipeline();
  db = await mysql.createConnection({ uri: stack().sourceMysqlUrl });
  await db.query(`CREATE DATABASE \`${pipeline.database}\``);
  await db.query(
    `CREATE TABLE \`${pipeline.database}\`.items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL)`,
  );
});

after(async () => {
  // Elasticsearch is up again for the files after this one, whatever happened here.
  await run('bash', [stackScript, 'up', 'elasticsearch'], { maxBuffer: 16 * 1024 * 1024 });
  await db?.end();
  await pipeline?.close();
});

async function readiness(service: ServiceProcess): Promise<{ status: number; reasons: string[] }> {
  const response = await serviceGet(service, '/health/ready');
  return { status: response.status, reasons: ((await response.json()) as { reasons: string[] }).reasons };
}

test('worker readiness names Elasticsearch while it is down and recovers when it is back', async () => {
  const ingest = await pipeline.start('ingest');
  const worker = await pipeline.start('worker');
  for (const service of [ingest, worker]) {
    await waitFor(`${service.name} to be ready`, async () =>
      (await readiness(service)).status === 200 ? true : undefined,
    );
  }

  await run('bash', [stackScript, 'down', 'elasticsearch'], { maxBuffer: 16 * 1024 * 1024 });
  const down = await waitFor(
    'the worker to be unready because of Elasticsearch',
    async () => {
      const r = await readiness(worker);
      return r.status === 503 ? r : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  assert.equal(down.reasons.length, 1, JSON.stringify(down.reasons));
  assert.match(down.reasons[0] as string, /^elasticsearch unreachable for \d+ s: \S/);
  assert.deepEqual(await readiness(ingest), { status: 200, reasons: [] }, 'ingest does not need it');
  await db.query(
    `INSERT INTO \`${pipeline.database}\`.items VALUES (1, 'written while Elasticsearch was down')`,
  );

  await run('bash', [stackScript, 'up', 'elasticsearch'], { maxBuffer: 16 * 1024 * 1024 });
  await waitFor(
    'the worker to be ready again',
    async () => ((await readiness(worker)).status === 200 ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  await pipeline.waitConverged(['items']);
});
