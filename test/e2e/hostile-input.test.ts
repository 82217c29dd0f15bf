// Hostile input on the real stack: bad Canal messages produced straight to the topic among valid
// ones. Every bad message ends in the dead-letter store with its reason and Kafka position, every
// valid one is applied, and no process crashes, restarts or stalls.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodePk } from '@sluice/core';
import { type HostileMessage, hostileMessages, validMessage } from '../chaos/hostile.ts';
import { runSluice } from '../support/cli.ts';
import { createTopic, deleteTopic, produce } from '../support/kafka.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { metricsText, type ServiceProcess } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

const MAX_ROW_BYTES = 3 * 1024 * 1024;
const topic = `hostile.${Date.now()}.${process.pid}`;
let pipeline: Pipeline;
let ingest: ServiceProcess;
let worker: ServiceProcess;

before(async () => {
  await createTopic(topic, 2);
  pipeline = await createPipeline({
    env: {
      SLUICE_KAFKA_TOPICS: topic,
      SLUICE_KAFKA_FROM_BEGINNING: 'true',
      SLUICE_MAX_ROW_BYTES: String(MAX_ROW_BYTES),
    },
    mapping: (database) => ({
      unmapped: 'deadletter',
      tables: {
        [`${database}.items`]: {
          mappings: { properties: { n: { type: 'integer' }, name: { type: 'text' } } },
        },
      },
    }),
  });
  ingest = await pipeline.start('ingest');
  worker = await pipeline.start('worker');
});

after(async () => {
  await pipeline?.close();
  await deleteTopic(topic);
});

interface Letter {
  reason: string;
  stage: string;
  topic?: string;
  partition?: number;
  offset?: number;
  tableName?: string;
}

test('N bad messages in → N dead letters with reasons and positions; all valid messages applied; no restart', async () => {
  const options = {
    database: pipeline.database,
    table: 'items',
    unmappedTable: 'elsewhere',
    maxRowBytes: MAX_ROW_BYTES,
  };
  const hostile = hostileMessages(options);
  const sequence: HostileMessage[] = [];
  for (const [i, message] of hostile.entries()) sequence.push(validMessage(options, i), message);
  sequence.push(validMessage(options, hostile.length));

  await produce(
    topic,
    sequence.map((message) => ({ value: message.value, partition: 0 })),
  );

  const expected = sequence
    .filter((m) => m.expect.startsWith('dlq:'))
    .map((m) => m.expect.slice(4))
    .sort();
  const letters = await waitFor(
    `${expected.length} dead letters`,
    async () => {
      const result = await runSluice(['dlq', 'list', '--json', '--limit', '10000'], pipeline.env);
      const { entries } = JSON.parse(result.stdout) as { entries: Letter[] };
      const ours = entries.filter((e) => e.topic === topic || e.tableName === `${pipeline.database}.items`);
      return ours.length >= expected.length ? ours : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 1000 },
  );
  assert.deepEqual(
    letters.map((l) => l.reason).sort(),
    expected,
    'one dead letter per bad message, with its reason',
  );
  for (const letter of letters.filter((l) => l.stage === 'ingest')) {
    assert.equal(letter.topic, topic);
    assert.equal(letter.partition, 0);
    assert.equal(typeof letter.offset, 'number');
  }

  const index = pipeline.mapping.defaultIndex(pipeline.database, 'items');
  const applied = sequence.filter((m) => m.expect === 'apply');
  await waitFor('every valid message to be indexed', async () => {
    await pipeline.es.request({ method: 'POST', path: `/${index}/_refresh` });
    const count = await pipeline.es.request<{ count: number }>({ method: 'GET', path: `/${index}/_count` });
    return count.body.count >= applied.length ? true : undefined;
  });
  for (const message of applied) {
    const id = encodePk([message.id as string]);
    const doc = await pipeline.es.request<{ found: boolean; _source: Record<string, unknown> }>({
      method: 'GET',
      path: `/${index}/_doc/${encodeURIComponent(id)}`,
    });
    assert.equal(doc.body.found, true, message.label);
  }
  const proto = await pipeline.es.request<{ _source: Record<string, unknown> }>({
    method: 'GET',
    path: `/${index}/_doc/920`,
  });
  assert.equal(Object.getOwnPropertyDescriptor(proto.body._source, '__proto__')?.value, 'p');
  assert.equal(proto.body._source.constructor, 'c');
  const unicode = await pipeline.es.request<{ _source: Record<string, unknown> }>({
    method: 'GET',
    path: `/${index}/_doc/${encodeURIComponent(encodePk(['ключ-键-🔑']))}`,
  });
  assert.equal(unicode.body._source.name, 'ünïcödé 名前 😀');

  // Nobody crashed or restarted, and ingest consumed to the end (no stalled partition).
  assert.equal(ingest.child.exitCode, null);
  assert.equal(worker.child.exitCode, null);
  await waitFor('the lag of every partition of the topic to drop to 0', async () => {
    const lines = (await metricsText(ingest))
      .split('\n')
      .filter((l) => l.startsWith('sluice_consumer_lag_messages{') && l.includes(`topic="${topic}"`));
    return lines.length > 0 && lines.every((l) => l.endsWith(' 0')) ? true : undefined;
  });
});
