// Backpressure on the real stack: with no worker draining the buffer, ingest pauses its Kafka
// partitions once the buffer holds more than the high watermark, so Redis memory stays bounded and
// the rest waits in Kafka; when a worker drains the buffer below the low watermark, ingest resumes
// and everything converges.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { ingestStatus, metricSum, type ServiceProcess } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let ingest: ServiceProcess;
const HIGH = 400;

before(async () => {
  pipeline = await createPipeline({
    env: { SLUICE_BUFFER_HIGH_WATERMARK: String(HIGH), SLUICE_BUFFER_LOW_WATERMARK: '100' },
  });
  ingest = await pipeline.start('ingest');
});

after(async () => {
  await pipeline?.close();
});

const pending = async () => (await ingestStatus(ingest)).pending;

test('ingest pauses above the high watermark and resumes below the low one; nothing is lost', async () => {
  await runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations: 4000,
    concurrency: 4,
    seed: 7,
    accounts: 50_000,
    hotShare: 0,
    zipfS: 0.3,
  });
  await waitFor(
    'ingest to pause',
    async () => ((await metricSum(ingest.httpPort, 'sluice_ingest_paused')) === 1 ? true : undefined),
    {
      timeoutMs: 60_000,
    },
  );
  // A batch already taken from Kafka when the pause came is still stored: the buffer's depth counts
  // once no batch is in flight and the watermark task has measured it again.
  await waitFor('the batches in flight at the pause to be stored', async () =>
    (await ingestStatus(ingest)).inFlight === 0 ? true : undefined,
  );
  await sleep(1500);
  const atPause = await pending();
  assert.ok(atPause >= HIGH, `paused with ${atPause} pending`);
  // Changes made while paused wait in Kafka: the buffer does not grow, the consumer lag does.
  await runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations: 1000,
    concurrency: 4,
    seed: 8,
    accounts: 50_000,
    hotShare: 0,
    zipfS: 0.3,
  });
  await waitFor('the rest to wait in Kafka: a lag of the changes made while paused', async () =>
    (await metricSum(ingest.httpPort, 'sluice_consumer_lag_messages')) >= 500 ? true : undefined,
  );
  assert.equal(await pending(), atPause, 'nothing more is buffered while paused');

  await pipeline.start('worker');
  await pipeline.waitConverged(WORKLOAD_TABLES);
  // The index can equal the table while ingest is paused again: the last changes, once resumed,
  // may fill the buffer above the high watermark once more, and the flush that drains it makes the
  // index converge before the watermark task has measured the buffer again. Ingest resumes at that
  // next measurement.
  await waitFor('ingest to resume once the buffer is drained', async () =>
    (await metricSum(ingest.httpPort, 'sluice_ingest_paused')) === 0 ? true : undefined,
  );
});
