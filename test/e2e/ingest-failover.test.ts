// A replacement for an ingest that died without leaving the consumer group (kill -9; kafkajs also
// restarts its consumer under a new member id after a broker restart). The group's rebalance waits
// for the dead member until its session expires, so the session timeout bounds the pause:
// SLUICE_KAFKA_SESSION_TIMEOUT_MS. Regression: a Kafka restart in the chaos run stopped consumption
// for 38 s (the broker log showed the new member waiting 28.5 s for the old one to be declared
// failed). How long the replacement takes to join is measured by test/bench/failover.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { groupAssignment, withAdmin } from '../support/kafka.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { serviceGet } from '../support/services.ts';
import { stack } from '../support/stack.ts';

const SESSION_MS = 6000;
let pipeline: Pipeline;

before(async () => {
  pipeline = await createPipeline({ env: { SLUICE_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS) } });
});

after(async () => {
  await pipeline?.close();
});

const workload = (target: Pipeline, operations: number, seed: number) =>
  runWorkload({
    url: target.sourceUrl,
    database: target.database,
    operations,
    concurrency: 2,
    seed,
  });

test('after kill -9 of the ingest, a replacement takes over every partition; nothing is lost', async () => {
  const topic = stack().kafkaTopic;
  const group = pipeline.env.SLUICE_KAFKA_GROUP as string;
  const first = await pipeline.start('ingest');
  await pipeline.start('worker');
  await workload(pipeline, 600, 11);
  await first.kill9();
  await workload(pipeline, 600, 12); // written while no consumer is in the group
  const second = await pipeline.start('ingest'); // ready = it has joined the group
  // Handed over: the dead member is out of the group, and the replacement alone holds the topic.
  await withAdmin(async (admin) => {
    const partitions = (await admin.fetchTopicOffsets(topic)).length;
    const [held] = await groupAssignment(admin, group, topic, 1);
    assert.deepEqual(
      [...(held ?? [])].sort((x, y) => x - y),
      Array.from({ length: partitions }, (_, p) => p),
    );
  });
  await workload(pipeline, 600, 13);
  await pipeline.waitConverged(WORKLOAD_TABLES, 120_000);
  assert.equal((await serviceGet(second, '/health/ready')).status, 200);
});

test('an ingest of a new consumer group that dies before its first commit: the replacement starts where it did', async () => {
  // Regression: the start of a new group ("the end of each partition") was resolved by the member
  // and not committed until its first batch; a replacement resolved "the end" again, later, and
  // skipped every change in between.
  const fresh = await createPipeline({ env: { SLUICE_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS) } });
  try {
    const first = await fresh.start('ingest');
    await first.kill9();
    await workload(fresh, 300, 21);
    await fresh.start('ingest');
    await fresh.start('worker');
    await fresh.waitConverged(WORKLOAD_TABLES, 120_000);
  } finally {
    await fresh.close();
  }
});
