import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chunkByBytes } from './chunk.ts';

test('chunks respect the byte budget and the count, keep order, and put an oversized item alone', () => {
  const sizes = [3, 3, 3, 10, 1, 1, 1, 1];
  const chunks = chunkByBytes(sizes, (n) => n, 6, 3);
  assert.deepEqual(chunks, [[3, 3], [3], [10], [1, 1, 1], [1]]);
  assert.deepEqual(
    chunkByBytes([], (n: number) => n, 6, 3),
    [],
  );
});
