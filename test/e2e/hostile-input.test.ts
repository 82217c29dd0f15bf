// Hostile input on the real stack, on each source: bad Canal messages put straight into what ingest
// reads (a Kafka topic, or the Redis Streams the relay writes) among valid ones. Every bad message
// ends in the dead-letter store with its reason and position, every valid one is applied, and no
// process crashes, restarts or stalls.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodePk } from '@sluice/core';
import { entryId, streamKey } from '@sluice/source';
import { type HostileMessage, hostileMessages, validMessage } from '../chaos/hostile.ts';
import { runSluice } from '../support/cli.ts';
import { createTopic, deleteTopic, produce } from '../support/kafka.ts';
import { createPipeline, PIPELINE_SOURCES, type Pipeline, type PipelineSource } from '../support/pipeline.ts';
import { openStreamRedis } from '../support/redis.ts';
import { metricsText, type ServiceProcess } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

const MAX_ROW_BYTES = 3 * 1024 * 1024;

for (const source of PIPELINE_SOURCES) describe(`into ${source}`, () => hostileInput(source));

function hostileInput(source: PipelineSource): void {
  // Kafka: a topic of the test's own, partition 0. Streams: stream 0 of the pipeline's cluster, entry
  // ids <seq>-0 as the relay writes them (its relay only sees this pipeline's empty database).
  const kafkaTopic = `hostile.${Date.now()}.${process.pid}`;
  let topic = kafkaTopic;
  let pipeline: Pipeline;
  let ingest: ServiceProcess;
  let worker: ServiceProcess;

  async function feed(values: ReadonlyArray<Buffer | null>): Promise<void> {
    if (source === 'kafka') {
      await produce(
        topic,
        values.map((value) => ({ value, partition: 0 })),
      );
      return;
    }
    const redis = openStreamRedis();
    try {
      let seq = 0;
      for (const value of values) {
        const fields = value === null ? [] : ['m', value.toString('utf8')];
        await redis.xadd(topic, entryId(++seq), ...fields, 'pos', `hostile:${seq}`, 'ts', String(Date.now()));
      }
    } finally {
      redis.disconnect();
    }
  }

  before(async () => {
    if (source === 'kafka') await createTopic(topic, 2);
    pipeline = await createPipeline({
      source,
      env: {
        SLUICE_KAFKA_TOPICS: kafkaTopic,
        SLUICE_KAFKA_FROM_BEGINNING: 'true',
        SLUICE_STREAM_PARTITIONS: '2',
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
    if (source === 'redis-stream')
      topic = streamKey(
        {
          prefix: pipeline.env.SLUICE_REDIS_PREFIX as string,
          cluster: pipeline.env.SLUICE_CLUSTER as string,
          partitions: 2,
        },
        0,
      );
    ingest = await pipeline.start('ingest');
    worker = await pipeline.start('worker');
  });

  after(async () => {
    await pipeline?.close();
    if (source === 'kafka') await deleteTopic(topic);
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

    await feed(sequence.map((message) => message.value));

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
}
