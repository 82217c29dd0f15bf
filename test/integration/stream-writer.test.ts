// The relay's writes against the stack's stream Redis (append-only file, fsync always): entries get
// dense ids <seq>-0 per stream; entries at or before the last binlog position of their source are
// skipped (Canal serving a batch again), while another source's are not; the sequence survives a
// stream emptied by trimming; trimming never removes an entry a consumer group has not acknowledged
// and reports how many are left; the stack's Redis is durable as the relay requires, the buffer's
// Redis is not.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  adoptUntaggedStreams,
  checkDurability,
  relayLeaseKey,
  releaseLease,
  type StreamEntry,
  type StreamLayout,
  StreamWriter,
  streamKey,
  takeLease,
  untaggedStreamKey,
} from '@sluice/source';
import type { Redis } from 'ioredis';
import { deleteKeys, openRedis, openStreamRedis } from '../support/redis.ts';
import { uniqueName } from '../support/wait.ts';

const redis = openStreamRedis();
const layouts: StreamLayout[] = [];

after(async () => {
  for (const layout of layouts) await deleteKeys(redis, layout.prefix);
  redis.disconnect();
});

function layout(): StreamLayout {
  const l = { prefix: uniqueName('writer').toLowerCase(), cluster: 'test', partitions: 2 };
  layouts.push(l);
  return l;
}

const entry = (file: string, offset: number, text = `${file}:${offset}`): StreamEntry => ({
  position: { file, offset },
  message: JSON.stringify({ text }),
});

async function ids(client: Redis, key: string): Promise<string[]> {
  return (await client.xrange(key, '-', '+')).map(([id]) => id);
}

test('entries get dense ids; a batch served again is skipped by position, per source', async () => {
  const l = layout();
  const writer = new StreamWriter(redis, l);
  const batch = [entry('bin.000001', 100), entry('bin.000001', 250), entry('bin.000002', 4)];
  assert.deepEqual(await writer.append(0, 'sluice', batch, 1), { written: 3, skipped: 0, lastSeq: 3 });
  // Canal serves the last two again, then one new entry
  const again = await writer.append(0, 'sluice', [...batch.slice(1), entry('bin.000002', 90)], 2);
  assert.deepEqual(again, { written: 1, skipped: 2, lastSeq: 4 });
  assert.deepEqual(await ids(redis, streamKey(l, 0)), ['1-0', '2-0', '3-0', '4-0']);
  const fields = await redis.xrange(streamKey(l, 0), '4-0', '4-0');
  assert.deepEqual(fields[0]?.[1], [
    'm',
    JSON.stringify({ text: 'bin.000002:90' }),
    'pos',
    'bin.000002:90',
    'ts',
    '2',
  ]);
  // another destination keeps its own position on the same stream
  assert.equal((await writer.append(0, 'latin1', [entry('bin.000001', 100)], 3)).written, 1);
  assert.equal(await writer.lastPosition(0, 'sluice'), '2:90');
  // streams are independent
  assert.deepEqual(await writer.append(1, 'sluice', [entry('bin.000001', 100)], 4), {
    written: 1,
    skipped: 0,
    lastSeq: 1,
  });
});

test('a fenced append writes only while its holder has claimed the streams', async () => {
  const l = layout();
  const writer = new StreamWriter(redis, l);
  const key = relayLeaseKey(l, 'sluice');
  assert.equal(await takeLease(redis, key, 'relay-a', 10_000), true);
  assert.equal(await takeLease(redis, key, 'relay-b', 10_000), false, 'one holder at a time');
  assert.equal(await takeLease(redis, key, 'relay-a', 10_000), true, 'its holder takes it again');
  await assert.rejects(
    writer.append(0, 'sluice', [entry('bin.000001', 1)], 1, { holder: 'relay-a' }),
    /NOTHOLDER/,
    'no write before the claim',
  );
  await writer.claim('sluice', 'relay-a');
  assert.equal(
    (await writer.append(0, 'sluice', [entry('bin.000001', 1)], 1, { holder: 'relay-a' })).written,
    1,
  );
  await assert.rejects(
    writer.append(0, 'sluice', [entry('bin.000001', 2)], 1, { holder: 'relay-b' }),
    /NOTHOLDER/,
  );
  // relay-a loses its lease (frozen past it, say): the next holder's claim fences it out of every stream
  await releaseLease(redis, key, 'relay-a');
  assert.equal(await takeLease(redis, key, 'relay-b', 10_000), true);
  await writer.claim('sluice', 'relay-b');
  for (const n of [0, 1])
    await assert.rejects(
      writer.append(n, 'sluice', [entry('bin.000001', 3)], 1, { holder: 'relay-a' }),
      /NOTHOLDER/,
    );
  assert.equal(
    (await writer.append(0, 'sluice', [entry('bin.000001', 4)], 1, { holder: 'relay-b' })).written,
    1,
  );
  // a claim given up by another holder is left alone; given up by its holder, nobody writes
  await writer.disclaim('sluice', 'relay-a');
  assert.equal(
    (await writer.append(0, 'sluice', [entry('bin.000001', 5)], 1, { holder: 'relay-b' })).written,
    1,
  );
  await writer.disclaim('sluice', 'relay-b');
  await assert.rejects(
    writer.append(0, 'sluice', [entry('bin.000001', 6)], 1, { holder: 'relay-b' }),
    /NOTHOLDER/,
  );
  assert.deepEqual(await ids(redis, streamKey(l, 0)), ['1-0', '2-0', '3-0'], 'only the claimed writer wrote');
});

test('streams of the earlier layout (keys without a hash tag) are renamed with their sequence', async () => {
  const l = layout();
  const old = untaggedStreamKey(l, 0);
  await redis.xadd(old, '7-0', 'm', '{}', 'pos', 'bin.000001:7', 'ts', '1');
  await redis.hset(`${old}:relay`, 'seq', '7', 'pos:sluice', '1:7');
  await redis.xgroup('CREATE', old, 'ingest', '0');
  assert.equal(await adoptUntaggedStreams(redis, l), 2);
  assert.equal(await redis.exists(old), 0);
  assert.deepEqual(await ids(redis, streamKey(l, 0)), ['7-0']);
  const groups = (await redis.xinfo('GROUPS', streamKey(l, 0))) as unknown[][];
  assert.equal(groups.length, 1, 'the consumer group moved with the stream');
  const writer = new StreamWriter(redis, l);
  assert.deepEqual(await writer.append(0, 'sluice', [entry('bin.000001', 8)], 1), {
    written: 1,
    skipped: 0,
    lastSeq: 8,
  });
  assert.equal(await adoptUntaggedStreams(redis, l), 0, 'nothing left to rename');
  await redis.xadd(old, '1-0', 'm', '{}', 'pos', '', 'ts', '1');
  await assert.rejects(adoptUntaggedStreams(redis, l), /both .* exist/);
});

test('trimming keeps every entry a group has not acknowledged, and the sequence goes on', async () => {
  const l = layout();
  const writer = new StreamWriter(redis, l);
  const key = streamKey(l, 0);
  const many = Array.from({ length: 300 }, (_, i) => entry('bin.000001', 1000 + i));
  await writer.append(0, 'sluice', many, 1);
  assert.deepEqual(
    await writer.trim(0, 1000),
    { unacknowledged: 300, removed: 0, read: false },
    'no group: all kept, none acknowledged',
  );

  await redis.xgroup('CREATE', key, 'ingest', '0');
  await redis.xgroup('CREATE', key, 'other', '0');
  // ingest read 250 and acknowledged 200; the other group read nothing yet
  const read = (await redis.xreadgroup('GROUP', 'ingest', 'c1', 'COUNT', 250, 'STREAMS', key, '>')) as Array<
    [string, Array<[string, string[]]>]
  >;
  const delivered = read[0]?.[1].map(([id]) => id) ?? [];
  await redis.xack(key, 'ingest', ...delivered.slice(0, 200));
  assert.deepEqual(await writer.trim(0, 1000), { unacknowledged: 300, removed: 0, read: true });

  // the other group catches up entirely: ingest's oldest pending entry (201) is the limit now
  const all = (await redis.xreadgroup('GROUP', 'other', 'c2', 'COUNT', 1000, 'STREAMS', key, '>')) as Array<
    [string, Array<[string, string[]]>]
  >;
  await redis.xack(key, 'other', ...(all[0]?.[1].map(([id]) => id) ?? []));
  const trimmed = await writer.trim(0, 10);
  assert.equal(trimmed.unacknowledged, 100);
  const left = await ids(redis, key);
  assert.ok(left.includes('201-0') && left.includes('300-0'), 'entries 201..300 are all kept');
  assert.ok(
    left.length < 300 && left.length >= 100,
    `acknowledged entries were trimmed (${left.length} left)`,
  );
  for (let seq = 201; seq <= 300; seq++) assert.ok(left.includes(`${seq}-0`), `entry ${seq} kept`);

  // everything acknowledged by both: only the length bound and the newest entry remain
  await redis.xack(key, 'ingest', ...delivered.slice(200));
  const rest = (await redis.xreadgroup('GROUP', 'ingest', 'c1', 'COUNT', 1000, 'STREAMS', key, '>')) as Array<
    [string, Array<[string, string[]]>]
  >;
  await redis.xack(key, 'ingest', ...(rest[0]?.[1].map(([id]) => id) ?? []));
  assert.equal((await writer.trim(0, 1000)).unacknowledged, 0);
  await redis.xtrim(key, 'MAXLEN', 0); // even an emptied stream keeps its sequence
  assert.deepEqual(await writer.append(0, 'sluice', [entry('bin.000003', 1)], 9), {
    written: 1,
    skipped: 0,
    lastSeq: 301,
  });
});

test("the stack's stream Redis fsyncs every write; the buffer's Redis keeps nothing", async () => {
  assert.deepEqual(await checkDurability(redis, 'fsync'), { keeps: 'fsync', problem: undefined });
  const buffer = openRedis();
  try {
    const report = await checkDurability(buffer, 'aof');
    assert.equal(report.keeps, 'none');
    assert.match(report.problem ?? '', /append-only file is off/);
    assert.equal((await checkDurability(buffer, 'none')).problem, undefined);
  } finally {
    buffer.disconnect();
  }
});
