// Several ingest replicas in one consumer group, scaled under load: two share the topic's partitions,
// one leaves on SIGTERM (its partitions move to the other), a third joins. Every change arrives once
// in the right order: the tables equal their indices, and nothing is dead-lettered. Each replica
// exports the consumer lag of the partitions it holds only, so summed lag is the group's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import type { Admin } from 'kafkajs';
import { groupAssignment, kafkaClient } from '../support/kafka.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { metricSum, metricsText } from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let admin: Admin;

before(async () => {
  pipeline = await createPipeline();
  admin = kafkaClient().admin();
  await admin.connect();
});

after(async () => {
  await admin?.disconnect();
  await pipeline?.close();
});

/** The partitions of the topic a replica exports consumer lag for. */
async function lagPartitions(replica: { httpPort: number }): Promise<number[]> {
  const text = await metricsText(replica);
  return [...text.matchAll(/^sluice_consumer_lag_messages\{([^}]*)\} /gm)]
    .filter((m) => (m[1] as string).includes(`topic="${stack().kafkaTopic}"`))
    .map((m) => Number(/partition="(\d+)"/.exec(m[1] as string)?.[1]))
    .sort((x, y) => x - y);
}

/** Partitions of the topic held by each member of the group, once the group is stable. */
const assignment = (members: number) =>
  groupAssignment(admin, pipeline.env.SLUICE_KAFKA_GROUP as string, stack().kafkaTopic, members);

test('ingest replicas share the partitions and hand them over when scaled down and up under load; converges', async () => {
  const topicPartitions = (await admin.fetchTopicOffsets(stack().kafkaTopic)).length;
  const a = await pipeline.start('ingest');
  const b = await pipeline.start('ingest');
  await pipeline.start('worker');
  const shared = await assignment(2);
  assert.deepEqual(
    await waitFor('each replica to report the lag of the partitions it holds', async () => {
      const reported = await Promise.all([a, b].map(lagPartitions));
      const held = await assignment(2);
      const key = (sets: number[][]) =>
        JSON.stringify(sets.map((p) => [...p].sort((x, y) => x - y).join()).sort());
      const same = (x: number[][], y: number[][]) => key(x) === key(y);
      return reported.every((p) => p.length > 0) && same(reported, held) ? reported : undefined;
    }).then((reported) => reported.flat().sort((x, y) => x - y)),
    Array.from({ length: topicPartitions }, (_, p) => p),
    'the replicas report the lag of disjoint partitions, together every one: their sum is the group lag',
  );
  assert.deepEqual(
    shared.flat().sort((x, y) => x - y),
    Array.from({ length: topicPartitions }, (_, p) => p),
    'every partition is held by exactly one replica',
  );
  assert.ok(
    shared.every((partitions) => partitions.length > 0),
    'both replicas hold partitions',
  );

  const load = runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations: 6000,
    concurrency: 3,
    seed: 21,
    ratePerSecond: 400,
  });
  await new Promise((resolve) => setTimeout(resolve, 4000));
  assert.equal(await a.stop('SIGTERM'), 0, 'scale down: the leaving replica exits cleanly');
  const alone = await assignment(1);
  assert.equal(alone[0]?.length, topicPartitions, 'the remaining replica holds every partition');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const c = await pipeline.start('ingest');
  await assignment(2);
  await load;

  await pipeline.waitConverged(WORKLOAD_TABLES, 180_000);
  const consumed =
    (await metricSum(b.httpPort, 'sluice_ingest_messages_total')) +
    (await metricSum(c.httpPort, 'sluice_ingest_messages_total'));
  assert.ok(consumed > 0, 'the remaining replicas consumed the changes');
  const rows = await pipeline.queryMeta(
    'SELECT stage, reason, table_name, LEFT(detail, 300) AS detail FROM dead_letter LIMIT 5',
  );
  assert.deepEqual(rows, [], 'nothing was dead-lettered (CREATE TABLE has nothing to apply)');
});
