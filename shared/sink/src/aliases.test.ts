import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formerIndices, indexPatterns, physicalIndexName, physicalNumber, swapActions } from './aliases.ts';

test('physical indices are numbered behind their alias; other names are not theirs', () => {
  assert.equal(physicalIndexName('shop-orders', 3), 'shop-orders-sluice-3');
  assert.equal(physicalNumber('shop-orders', 'shop-orders-sluice-3'), 3);
  assert.equal(physicalNumber('shop-orders', 'shop-orders-sluice-03'), undefined);
  assert.equal(physicalNumber('shop-orders', 'shop-orders-sluice-x'), undefined);
  assert.equal(physicalNumber('shop', 'shop-orders-sluice-1'), undefined);
  assert.deepEqual(indexPatterns('shop-orders'), ['shop-orders', 'shop-orders-sluice-*']);
});

test("the swap moves the alias in one request; only Sluice's former indices are left to delete", () => {
  const from = { kind: 'alias', indices: ['a-sluice-1', 'a-sluice-2', 'users-own'] } as const;
  assert.deepEqual(swapActions('a', 'a-sluice-2', from), [
    { add: { index: 'a-sluice-2', alias: 'a', is_write_index: true } },
    { remove: { index: 'a-sluice-1', alias: 'a' } },
    { remove: { index: 'users-own', alias: 'a' } },
  ]);
  assert.deepEqual(formerIndices('a', 'a-sluice-2', from), ['a-sluice-1'], "never a user's index");
  assert.deepEqual(
    swapActions('a', 'a-sluice-1', { kind: 'index' }),
    [{ add: { index: 'a-sluice-1', alias: 'a', is_write_index: true } }, { remove_index: { index: 'a' } }],
    'a legacy index goes in the same request: the alias takes its name',
  );
  assert.deepEqual(formerIndices('a', 'a-sluice-1', { kind: 'index' }), []);
  assert.deepEqual(swapActions('a', 'a-sluice-1', { kind: 'missing' }), [
    { add: { index: 'a-sluice-1', alias: 'a', is_write_index: true } },
  ]);
});
