import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseShardList } from './shards.ts';

test('shard lists', () => {
  assert.deepEqual(parseShardList(undefined, 4), [0, 1, 2, 3]);
  assert.deepEqual(parseShardList('all', 3), [0, 1, 2]);
  assert.deepEqual(parseShardList('0-2, 5,3', 8), [0, 1, 2, 3, 5]);
  assert.throws(() => parseShardList('9', 8), /outside 0..7/);
  assert.throws(() => parseShardList('3-1', 8), /backwards/);
  assert.throws(() => parseShardList('x', 8), /not a shard/);
});
