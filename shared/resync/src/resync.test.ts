import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Mapping, makeVersion } from '@sluice/core';
import { memoryLogger } from '@sluice/runtime';
import type { Pool } from 'mysql2/promise';
import { type PartitionEnds, Resync } from './resync.ts';
import { ResyncVersionError, resyncVersion } from './rule.ts';

test('the re-sync version is one below the end offset taken before the read', () => {
  assert.equal(resyncVersion(0, 10), 9);
  assert.equal(resyncVersion(2, 10), makeVersion(2, 9));
  assert.equal(resyncVersion(0, 1), 0);
  assert.equal(resyncVersion(3, 0), makeVersion(3, 0) - 1, 'below the generation: below all of it');
  assert.throws(() => resyncVersion(0, 0), ResyncVersionError);
});

class FakeEnds implements PartitionEnds {
  marked: string[] = [];
  table: Array<{ topic: string; partition: number; end: number }>;
  constructor(table: Array<{ topic: string; partition: number; end: number }>) {
    this.table = table;
  }
  async ends() {
    return this.table.map((e) => ({ ...e }));
  }
  async mark(topic: string, partition: number, count = 1) {
    this.marked.push(`${topic}[${partition}]${count > 1 ? `×${count}` : ''}`);
    const e = this.table.find((x) => x.topic === topic && x.partition === partition);
    if (e) e.end += count;
  }
}

function resync(ends: FakeEnds, place?: { topic: string; partition: number }, generation = 0) {
  return new Resync(
    {
      source: {} as Pool,
      mapping: new Mapping({}, 't-'),
      buffer: { upsert: async () => ({ inserted: 0, replaced: 0, refused: 0 }), totalPending: async () => 0 },
      backup: { commitBatch: async () => undefined },
      ends,
      places: { tablePlace: async () => place },
      checkpoints: {
        load: async () => undefined,
        save: async () => undefined,
        finish: async () => undefined,
        reset: async () => undefined,
      },
      logger: memoryLogger('silent').logger,
    },
    { shards: 16, generation, topics: ['canal'], chunkRows: 100, ratePerSecond: 0, highWatermark: 1000 },
  );
}

test("a table's version comes from its own partition once ingest has seen it", async () => {
  const ends = new FakeEnds([
    { topic: 'canal', partition: 0, end: 5 },
    { topic: 'canal', partition: 1, end: 900 },
  ]);
  assert.equal(await resync(ends, { topic: 'canal', partition: 1 }).versionNow('shop.a'), 899);
  assert.deepEqual(ends.marked, []);
});

test('a table not seen yet takes the smallest end; empty partitions get a first message in generation 0', async () => {
  const ends = new FakeEnds([
    { topic: 'canal', partition: 0, end: 0 },
    { topic: 'canal', partition: 1, end: 900 },
    { topic: 'canal', partition: 2, end: 0 },
  ]);
  assert.equal(await resync(ends).versionNow('shop.new'), 0);
  assert.deepEqual(ends.marked, ['canal[0]', 'canal[2]']);

  const later = new FakeEnds([
    { topic: 'canal', partition: 0, end: 0 },
    { topic: 'canal', partition: 1, end: 7 },
  ]);
  assert.equal(await resync(later, undefined, 1).versionNow('shop.new'), makeVersion(1, 0) - 1);
  assert.deepEqual(later.marked, [], 'generation 1 has a version below offset 0 already');
});

test('a place outside the configured topics is an error, not a guess', async () => {
  const ends = new FakeEnds([{ topic: 'canal', partition: 0, end: 3 }]);
  await assert.rejects(
    resync(ends, { topic: 'other', partition: 0 }).versionNow('shop.a'),
    /not a partition of canal/,
  );
});

test('a repair version above what the index holds moves the partition on, and stays below later changes', async () => {
  const ends = new FakeEnds([
    { topic: 'canal', partition: 0, end: 50 },
    { topic: 'canal', partition: 1, end: 10 },
  ]);
  const r = resync(ends, { topic: 'canal', partition: 1 });
  // A document deleted behind Sluice's back after its last change (offset 9) holds version 10.
  const version = await r.versionAbove('shop.a', 10);
  assert.equal(version, 11);
  assert.deepEqual(ends.marked, ['canal[1]×2']);
  assert.equal(ends.table[1]?.end, 12, 'the next change gets offset 12: above the repair');
  assert.equal(await r.versionAbove('shop.a', 3), 11, 'nothing to move when already above');
  assert.deepEqual(ends.marked, ['canal[1]×2']);
});
