// RedisBuffer without Redis: a stand-in client records each script call as ioredis splits it into KEYS
// and ARGV (by the registered numberOfKeys), so these check that the methods send what args.ts builds
// and decode the replies. The scripts themselves run in test/integration/buffer.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ackIfVersionArgs,
  releaseDelayedArgs,
  retryLaterArgs,
  takeDueArgs,
  upsertIfNewerArgs,
} from './args.ts';
import { RedisBuffer } from './buffer.ts';
import { encodeValue, recordField, toEntry } from './layout.ts';
import type { RedisLike } from './scripts.ts';

interface Sent {
  script: string;
  keys: unknown[];
  args: unknown[];
}

class FakeRedis {
  readonly sent: Sent[] = [];
  /** Answers, in the order the calls are made. */
  replies: unknown[] = [];

  defineCommand(name: string, spec: { numberOfKeys: number }): void {
    Object.assign(this, {
      [name]: async (...all: unknown[]) => {
        const script = name.replace(/^sluice_/, '');
        this.sent.push({ script, keys: all.slice(0, spec.numberOfKeys), args: all.slice(spec.numberOfKeys) });
        if (this.replies.length === 0) throw new Error(`no reply left for ${script}`);
        return this.replies.shift();
      },
    });
  }
}

const options = { prefix: 'p', cluster: 'c', shards: 4, chunk: 2, retryBaseMs: 700, retryMaxMs: 9000 };
const now = 1_700_000_000_123;

function setup(): { fake: FakeRedis; buffer: RedisBuffer } {
  const fake = new FakeRedis();
  return { fake, buffer: new RedisBuffer(fake as unknown as RedisLike, options) };
}

const entry = (shard: number, pk: string, version: number) =>
  toEntry({ tableKey: 'shop.items', pk, version, sourceTs: 1, op: 'upsert' }, shard, `{"v":${version}}`);
const item = (pk: string, version: number) => ({ field: recordField('shop.items', pk), version });

test('upsert sends the built chunks and sums their replies', async () => {
  const { fake, buffer } = setup();
  const entries = [entry(1, 'a', 1), entry(2, 'b', 2), entry(1, 'c', 3), entry(1, 'd', 4)];
  fake.replies = [
    [2, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ];
  assert.deepEqual(await buffer.upsert(entries, now), { inserted: 2, replaced: 1, refused: 1 });
  const built = upsertIfNewerArgs(entries, (shard) => buffer.keysOf(shard), now, options.chunk);
  assert.equal(built.length, 3);
  assert.deepEqual(
    fake.sent,
    built.map((call) => ({ script: 'upsertIfNewer', ...call })),
  );
});

test('upsert with an unknown shard sends nothing', async () => {
  const { fake, buffer } = setup();
  await assert.rejects(buffer.upsert([entry(0, 'a', 1), entry(9, 'b', 2)], now), RangeError);
  assert.deepEqual(fake.sent, []);
});

test('takeDue sends now and the limit and decodes field, value, bufferedAt triples', async () => {
  const { fake, buffer } = setup();
  fake.replies = [[recordField('shop.items', '1'), encodeValue(7, 8, 'delete', ''), '55']];
  const records = await buffer.takeDue(3, 25, now);
  assert.deepEqual(fake.sent, [{ script: 'takeDue', ...takeDueArgs(buffer.keysOf(3), now, 25) }]);
  assert.deepEqual(
    records.map((r) => [r.pk, r.version, r.sourceTs, r.op, r.bufferedAt]),
    [['1', 7, 8, 'delete', 55]],
  );
});

test('ack and retryLater send one call per chunk, in order, and merge the replies', async () => {
  const { fake, buffer } = setup();
  const items = [item('a', 1), item('b', 2), item('c', 3)];
  fake.replies = [
    [1, 1],
    [1, 0],
  ];
  assert.deepEqual(await buffer.ack(0, items), { deleted: 2, kept: 1 });
  fake.replies = [
    [items[0]?.field, 1, items[1]?.field, 4],
    [items[2]?.field, 2],
  ];
  const attempts = await buffer.retryLater(0, items, now);
  assert.deepEqual(
    [...attempts],
    [
      [items[0]?.field, 1],
      [items[1]?.field, 4],
      [items[2]?.field, 2],
    ],
  );
  const keys = buffer.keysOf(0);
  const backoff = { baseMs: options.retryBaseMs, maxMs: options.retryMaxMs };
  assert.deepEqual(fake.sent, [
    ...ackIfVersionArgs(keys, items, options.chunk).map((call) => ({ script: 'ackIfVersion', ...call })),
    ...retryLaterArgs(keys, items, now, backoff, options.chunk).map((call) => ({
      script: 'retryLater',
      ...call,
    })),
  ]);
  assert.deepEqual(fake.sent[3]?.args, [now, 700, 9000, items[2]?.field, 3]);
});

test('releaseDelayed repeats the call while it moves a full chunk', async () => {
  const { fake, buffer } = setup();
  fake.replies = [2, 2, 1];
  assert.equal(await buffer.releaseDelayed(1, now), 5);
  assert.equal(fake.sent.length, 3);
  fake.replies = [2, 0];
  assert.equal(await buffer.releaseDelayed(1, now), 2);
  fake.replies = [0];
  assert.equal(await buffer.releaseDelayed(1, now), 0);
  const call = { script: 'releaseDelayed', ...releaseDelayedArgs(buffer.keysOf(1), now, options.chunk) };
  assert.deepEqual(
    fake.sent,
    Array.from({ length: 6 }, () => call),
  );
});
