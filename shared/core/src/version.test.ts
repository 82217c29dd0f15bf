import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_GENERATION, MAX_OFFSET, makeVersion, versionParts } from './version.ts';

test('versions order by generation first, then by offset', () => {
  assert.ok(makeVersion(0, 10) < makeVersion(0, 11));
  assert.ok(makeVersion(0, MAX_OFFSET) < makeVersion(1, 0));
  assert.ok(makeVersion(1, '5') > makeVersion(0, '9999999999'));
});

test('versions are safe integers at the extremes and split back', () => {
  const top = makeVersion(MAX_GENERATION, MAX_OFFSET);
  assert.ok(Number.isSafeInteger(top));
  assert.equal(top, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(versionParts(top), { generation: MAX_GENERATION, offset: MAX_OFFSET });
  assert.deepEqual(versionParts(makeVersion(3, '123456789')), { generation: 3, offset: 123456789 });
  assert.equal(makeVersion(0, 0), 0);
});

test('out-of-range inputs are refused', () => {
  assert.throws(() => makeVersion(0, -1), RangeError);
  assert.throws(() => makeVersion(0, MAX_OFFSET + 1), RangeError);
  assert.throws(() => makeVersion(MAX_GENERATION + 1, 0), RangeError);
  assert.throws(() => makeVersion(0, 'abc'), RangeError);
  assert.throws(() => makeVersion(0.5, 1), RangeError);
});
