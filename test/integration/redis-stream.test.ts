// The Redis Stream source against the stack's real Redis: entries handed over in order per stream
// and acknowledged only after the handler returned; a reader that dies mid-batch leaves its entries
// pending and the next reader claims them first; replicas split the streams fairly and hand them
// over without ever handling a stream's entries out of order; entries no relay wrote are skipped.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { memoryLogger } from '@sluice/runtime';
import {
  entryId,
  RedisStreamSource,
  type RedisStreamSourceOptions,
  type SourceBatch,
  type StreamLayout,
  streamKey,
} from '@sluice/source';
import type { Redis } from 'ioredis';
import { deleteKeys, openRedis } from '../support/redis.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

const clients: Redis[] = [];
const layouts: StreamLayout[] = [];

after(async () => {
  const redis = openRedis();
  for (const layout of layouts) await deleteKeys(redis, layout.prefix);
  await redis.quit();
  for (const c of clients) c.disconnect();
});

function layout(partitions: number): StreamLayout {
  const l = { prefix: uniqueName('stream').toLowerCase(), cluster: 'test', partitions };
  layouts.push(l);
  return l;
}

function client(): Redis {
  const c = openRedis();
  clients.push(c);
  return c;
}

function source(l: StreamLayout, extra: Partial<RedisStreamSourceOptions> = {}): RedisStreamSource {
  return new RedisStreamSource({
    redis: client(),
    blocking: client(),
    layout: l,
    group: 'ingest',
    fromBeginning: true,
    maxBatchMessages: 50,
    leaseMs: 1500,
    blockMs: 200,
    logger: memoryLogger().logger,
    ...extra,
  });
}

async function append(redis: Redis, l: StreamLayout, partition: number, from: number, to: number) {
  const pipeline = redis.pipeline();
  for (let seq = from; seq <= to; seq++)
    pipeline.xadd(
      streamKey(l, partition),
      entryId(seq),
      'm',
      `{"seq":${seq}}`,
      'pos',
      `bin.000001:${seq}`,
      'ts',
      '1',
    );
  await pipeline.exec();
}

/** Offsets handled per stream, in the order the handler saw them. */
function recorder() {
  const seen = new Map<number, number[]>();
  const handler = async (batch: SourceBatch) => {
    const list = seen.get(batch.partition) ?? [];
    for (const m of batch.messages) list.push(Number(m.offset));
    seen.set(batch.partition, list);
  };
  return { seen, handler };
}

async function pending(redis: Redis, l: StreamLayout, partition: number): Promise<number> {
  const [count] = (await redis.xpending(streamKey(l, partition), 'ingest')) as [number];
  return Number(count);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('entries are handed over in order per stream, acknowledged after the handler, and lag falls to 0', async () => {
  const l = layout(2);
  const redis = client();
  const s = source(l);
  await s.connect();
  await append(redis, l, 0, 1, 120);
  await append(redis, l, 1, 1, 30);
  const { seen, handler } = recorder();
  await s.run(handler);
  await waitFor('every entry handled', () =>
    seen.get(0)?.length === 120 && seen.get(1)?.length === 30 ? true : undefined,
  );
  assert.deepEqual(seen.get(0), range(1, 120));
  assert.deepEqual(seen.get(1), range(1, 30));
  await waitFor('every entry acknowledged', async () =>
    (await pending(redis, l, 0)) + (await pending(redis, l, 1)) === 0 ? true : undefined,
  );
  const lag = await s.lag();
  assert.deepEqual(
    lag.map((x) => [x.partition, x.lag]),
    [
      [0, 0],
      [1, 0],
    ],
  );
  assert.equal(lag[0]?.topic, streamKey(l, 0));
  await s.stop();
});

test('entries delivered whose reply was lost, or handled whose XACK failed, are claimed again and acknowledged', async () => {
  const l = layout(1);
  const redis = client();
  await append(redis, l, 0, 1, 20);
  // The real Redis, with the connection "dropping" twice as Redis restarts would drop it: once after
  // XREADGROUP delivered entries (they are pending for this reader, the reply never arrives), once
  // after the handler returned and before its XACK.
  const wrap = (real: Redis, name: 'xreadgroup' | 'xack', after: boolean) => {
    let failed = 0;
    const proxy = new Proxy(real, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key === name && failed === 0) {
          return async (...args: unknown[]) => {
            failed++;
            if (after) await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            throw new Error('Connection is closed.');
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { proxy: proxy as Redis, failed: () => failed };
  };
  const acks = wrap(client(), 'xack', false);
  const reads = wrap(client(), 'xreadgroup', true);
  const s = source(l, { redis: acks.proxy, blocking: reads.proxy });
  await s.connect();
  const { seen, handler } = recorder();
  await s.run(handler);
  await append(redis, l, 0, 21, 30);
  await waitFor('every entry handled and acknowledged after both failures', async () =>
    acks.failed() === 1 &&
    reads.failed() === 1 &&
    (await pending(redis, l, 0)) === 0 &&
    (await s.lag())[0]?.lag === 0
      ? true
      : undefined,
  );
  const offsets = seen.get(0) ?? [];
  assert.deepEqual(
    [...new Set(offsets)].sort((a, b) => a - b),
    range(1, 30),
    'every entry handled, those whose reply was lost too',
  );
  await s.stop();
});

test('a reader that dies mid-batch leaves its entries pending; the next reader claims them first, in order', async () => {
  const l = layout(1);
  const redis = client();
  await append(redis, l, 0, 1, 40);
  // The first reader takes a batch and never returns from it (a process frozen or killed).
  const stuck = source(l, { maxBatchMessages: 10 });
  await stuck.connect();
  let stuckSaw: number[] = [];
  await stuck.run(async (batch) => {
    stuckSaw = batch.messages.map((m) => Number(m.offset));
    await new Promise(() => undefined);
  });
  await waitFor('the stuck reader to take a batch', () => (stuckSaw.length > 0 ? true : undefined));
  assert.deepEqual(stuckSaw, range(1, 10));
  assert.equal(await pending(redis, l, 0), 10, 'its batch is delivered and not acknowledged');
  // It dies: its connections go, its lease runs out.
  for (const c of clients.slice(-2)) c.disconnect();

  const next = source(l, { maxBatchMessages: 10 });
  await next.connect();
  const { seen, handler } = recorder();
  await next.run(handler);
  await waitFor(
    'the next reader to take the stream and handle everything',
    () => (seen.get(0)?.length === 40 ? true : undefined),
    { timeoutMs: 15_000 },
  );
  assert.deepEqual(seen.get(0), range(1, 40), 'the claimed batch first, then the rest, nothing skipped');
  await waitFor('all acknowledged', async () => ((await pending(redis, l, 0)) === 0 ? true : undefined));
  await next.stop();
});

test('two replicas split the streams fairly and hand them over; no stream is ever handled out of order', async () => {
  const l = layout(4);
  const redis = client();
  const first = source(l, { maxBatchMessages: 20 });
  await first.connect();
  assert.deepEqual(first.heldStreams(), [0, 1, 2, 3], 'alone, it reads every stream');
  const a = recorder();
  const b = recorder();
  await first.run(a.handler);
  let seq = 0;
  const writer = setInterval(() => {
    seq += 10;
    for (let n = 0; n < 4; n++) void append(redis, l, n, seq - 9, seq);
  }, 50);
  try {
    await waitFor('the first replica to handle some entries', () =>
      (a.seen.get(0)?.length ?? 0) > 20 ? true : undefined,
    );
    const second = source(l, { maxBatchMessages: 20 });
    await second.connect();
    await second.run(b.handler);
    await waitFor(
      'two streams each',
      () => (first.heldStreams().length === 2 && second.heldStreams().length === 2 ? true : undefined),
      { timeoutMs: 15_000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(writer);
    const last = seq;
    await waitFor(
      'every entry of every stream handled',
      () => {
        for (let n = 0; n < 4; n++) {
          const all = new Set([...(a.seen.get(n) ?? []), ...(b.seen.get(n) ?? [])]);
          if (all.size < last) return undefined;
        }
        return true;
      },
      { timeoutMs: 15_000 },
    );
    for (let n = 0; n < 4; n++) {
      for (const r of [a, b]) {
        const list = r.seen.get(n) ?? [];
        // Each replica saw each stream's entries in increasing order (a handover may repeat a few).
        for (let i = 1; i < list.length; i++)
          assert.ok(
            (list[i] as number) > (list[i - 1] as number),
            `stream ${n}: ${list[i - 1]} then ${list[i]}`,
          );
      }
      const handled = new Set([...(a.seen.get(n) ?? []), ...(b.seen.get(n) ?? [])]);
      assert.deepEqual(
        [...handled].sort((x, y) => x - y),
        range(1, last),
        `stream ${n}: nothing skipped`,
      );
    }
    await second.stop();
    await waitFor(
      'the first replica to take every stream back',
      () => (first.heldStreams().length === 4 ? true : undefined),
      { timeoutMs: 10_000 },
    );
  } finally {
    clearInterval(writer);
    await first.stop();
  }
});

test('entries no relay wrote (id not "<seq>-0") are skipped, logged and acknowledged; pausing stops reading', async () => {
  const l = layout(1);
  const redis = client();
  const log = memoryLogger();
  const s = source(l, { logger: log.logger });
  await s.connect();
  await redis.xadd(streamKey(l, 0), '5-3', 'm', '{}');
  await append(redis, l, 0, 6, 8);
  const { seen, handler } = recorder();
  await s.run(handler);
  await waitFor('the valid entries', () => (seen.get(0)?.length === 3 ? true : undefined));
  assert.deepEqual(seen.get(0), [6, 7, 8]);
  assert.ok(log.lines.some((line) => String(line.msg).includes('not written by sluice relay')));
  await waitFor('all acknowledged', async () => ((await pending(redis, l, 0)) === 0 ? true : undefined));

  s.pause();
  await new Promise((resolve) => setTimeout(resolve, 400));
  await append(redis, l, 0, 9, 12);
  await new Promise((resolve) => setTimeout(resolve, 600));
  assert.equal(seen.get(0)?.length, 3, 'nothing read while paused');
  assert.equal((await s.lag())[0]?.lag, 4, 'the waiting entries count as lag');
  s.resume();
  await waitFor('reading again after resume', () => (seen.get(0)?.length === 7 ? true : undefined));
  await s.stop();
});
