import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, diffDocuments, isClean } from './compare.ts';

test('canonical JSON ignores key order, keeps array order', () => {
  assert.equal(canonicalJson({ b: 1, a: [2, { d: null, c: 'x' }] }), '{"a":[2,{"c":"x","d":null}],"b":1}');
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

test('missing, stale and extra documents are told apart', () => {
  const rows = new Map<string, unknown>([
    ['1', { a: 1 }],
    ['2', { a: 2 }],
    ['3', { a: 3 }],
  ]);
  const docs = new Map<string, unknown>([
    ['1', { a: 1 }],
    ['2', { a: 20 }],
    ['4', { a: 4 }],
  ]);
  const diff = diffDocuments('shop.t', 'shop.t', rows, docs);
  assert.deepEqual([diff.missing, diff.stale, diff.extra], [['3'], ['2'], ['4']]);
  assert.equal(isClean(diff), false);
  assert.equal(isClean(diffDocuments('t', 'i', rows, new Map(rows))), true);
});
