// A replacement for an ingest that died without leaving the consumer group (kill -9; kafkajs also
// restarts its consumer under a new member id after a broker restart). The group's rebalance waits
// for the dead member until its session expires, so the session timeout bounds the pause:
// SLUICE_KAFKA_SESSION_TIMEOUT_MS, not kafkajs' 30 s default. Regression: a Kafka restart in the
// chaos run stopped consumption for 38 s (the broker log showed the new member waiting 28.5 s for
// the old one to be declared failed).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';

const SESSION_MS = 6000;
/** kafkajs' default session timeout, which the dead member would otherwise hold its partitions for. */
const KAFKAJS_DEFAULT_SESSION_MS = 30_000;
let pipeline: Pipeline;

before(async () => {
  pipeline = await createPipeline({ env: { SLUICE_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS) } });
});

after(async () => {
  await pipeline?.close();
});

const workload = (seed: number) =>
  runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations: 600,
    concurrency: 2,
    seed,
  });

test('after kill -9 of the ingest, a replacement joins once the configured session expires; nothing is lost', async () => {
  const first = await pipeline.start('ingest');
  await pipeline.start('worker');
  await workload(11);
  await first.kill9();
  const killedAt = Date.now();
  await workload(12); // written while no consumer is in the group
  const second = await pipeline.start('ingest'); // ready = it has joined the group
  const joinedAfterMs = Date.now() - killedAt;
  assert.ok(
    joinedAfterMs < KAFKAJS_DEFAULT_SESSION_MS - 5000,
    `the replacement joined ${joinedAfterMs} ms after the kill (session timeout ${SESSION_MS} ms)`,
  );
  await workload(13);
  await pipeline.waitConverged(WORKLOAD_TABLES, 120_000);
  const ready = await fetch(`http://127.0.0.1:${second.httpPort}/health/ready`);
  assert.equal(ready.status, 200);
});

test('an ingest of a new consumer group that dies before its first commit: the replacement starts where it did', async () => {
  // Regression: the start of a new group ("the end of each partition") was resolved by the member
  // and not committed until its first batch; a replacement resolved "the end" again, later, and
  // skipped every change in between.
  const fresh = await createPipeline({ env: { SLUICE_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS) } });
  try {
    const first = await fresh.start('ingest');
    await first.kill9();
    await runWorkload({
      url: fresh.sourceUrl,
      database: fresh.database,
      operations: 300,
      concurrency: 2,
      seed: 21,
    });
    await fresh.start('ingest');
    await fresh.start('worker');
    await fresh.waitConverged(WORKLOAD_TABLES, 120_000);
  } finally {
    await fresh.close();
  }
});
