// The Kafka source against the stack's Kafka, with a handler that prepares: a partition's next slice
// is prepared while the previous one is written (they overlap), the writes happen strictly in
// offset order and each exactly once to success (a failed write is tried again before the next),
// the group's committed offset never runs ahead of what was written, and a stop waits for the write
// in flight and commits it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { memoryLogger } from '@sluice/runtime';
import { type BatchHandler, KafkaSource, type SourceBatch } from '@sluice/source';
import { createTopic, deleteTopic, kafkaClient } from '../support/kafka.ts';
import { stack } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

const topic = `test.${uniqueName('source')}`;
const kafka = kafkaClient('sluice-test-source');
const TOTAL = 3000;

before(async () => {
  await createTopic(topic, 1);
  const producer = kafka.producer();
  await producer.connect();
  for (let i = 0; i < TOTAL; i += 500)
    await producer.send({
      topic,
      messages: Array.from({ length: 500 }, (_, j) => ({ partition: 0, value: `m${i + j}` })),
    });
  await producer.disconnect();
});

after(async () => {
  await deleteTopic(topic);
});

async function committedOffset(group: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return Number(offsets?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
  } finally {
    await admin.disconnect();
  }
}

function source(group: string): KafkaSource {
  return new KafkaSource({
    brokers: stack().kafkaBrokers,
    clientId: 'sluice-test-source',
    groupId: group,
    topics: [topic],
    fromBeginning: true,
    concurrency: 1,
    maxBatchMessages: 200,
    sessionTimeoutMs: 10_000,
    logger: memoryLogger('warn').logger,
  });
}

const range = (b: SourceBatch) => [Number(b.messages[0]?.offset), Number(b.messages.at(-1)?.offset)] as const;

test('slices are prepared ahead, written in order exactly once, and never committed ahead of the writes', async () => {
  const group = uniqueName('pipelined');
  const events: Array<{ kind: 'prepared' | 'write-start' | 'write-end' | 'write-failed'; first: number }> =
    [];
  const ahead: string[] = [];
  let failedOnce = false;
  const prepare = async (batch: SourceBatch) => {
    const [first, last] = range(batch);
    events.push({ kind: 'prepared', first });
    return async () => {
      events.push({ kind: 'write-start', first });
      // what is committed now may cover only what was written before this slice
      const committed = await committedOffset(group);
      if (committed > first) ahead.push(`committed ${committed} while writing ${first}..${last}`);
      await sleep(30);
      if (first >= 1000 && !failedOnce) {
        failedOnce = true;
        events.push({ kind: 'write-failed', first });
        throw new Error('the backup is down for a moment');
      }
      events.push({ kind: 'write-end', first });
    };
  };
  const handler: BatchHandler = Object.assign(async (batch: SourceBatch) => (await prepare(batch))(), {
    prepare,
  });
  const s = source(group);
  await s.connect();
  await s.run(handler);
  try {
    await waitFor(
      'every message committed',
      async () => ((await committedOffset(group)) >= TOTAL ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 200,
      },
    );
  } finally {
    await s.stop();
  }
  assert.deepEqual(ahead, [], 'the commit never ran ahead of the writes');
  const ends = events.filter((e) => e.kind === 'write-end').map((e) => e.first);
  assert.deepEqual(
    ends,
    [...ends].sort((a, b) => a - b),
    'written in offset order',
  );
  assert.equal(new Set(ends).size, ends.length, 'each slice written to success once');
  assert.equal(ends[0], 0);
  assert.ok(failedOnce, 'a write failed once');
  const failed = events.findIndex((e) => e.kind === 'write-failed');
  const retried = events.findIndex((e, i) => i > failed && e.kind === 'write-start');
  assert.equal(
    events[retried]?.first,
    events[failed]?.first,
    'the failed slice is written again before any later one',
  );
  // pipelined: some slice was prepared while the one before it was being written
  const overlapped = events.some((e, i) => {
    if (e.kind !== 'prepared') return false;
    const start = events.findLastIndex((x, j) => j < i && x.kind === 'write-start');
    const end = events.findLastIndex((x, j) => j < i && x.kind === 'write-end');
    return start > end;
  });
  assert.ok(overlapped, 'a slice was prepared while the previous one was written');
});

test('a stop waits for the write in flight and commits it', async () => {
  const group = uniqueName('stopping');
  let writing: { first: number; last: number } | undefined;
  let released = false;
  const prepare = async (batch: SourceBatch) => {
    const [first, last] = range(batch);
    return async () => {
      if (first >= 400 && !released) {
        writing = { first, last };
        await sleep(1500);
        released = true;
      }
    };
  };
  const handler: BatchHandler = Object.assign(async (batch: SourceBatch) => (await prepare(batch))(), {
    prepare,
  });
  const s = source(group);
  await s.connect();
  await s.run(handler);
  await waitFor('a slow write in flight', () => writing, { timeoutMs: 30_000, intervalMs: 20 });
  await s.stop();
  assert.ok(released, 'the stop waited for the write');
  assert.equal(await committedOffset(group), (writing?.last ?? -2) + 1, 'and committed it');
});
