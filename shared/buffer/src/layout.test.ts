import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeValue, encodeValue, recordField, shardKeys, splitField } from './layout.ts';

test('all keys of a shard share one hash tag', () => {
  const keys = shardKeys('sluice', 'prod', 7);
  const tags = Object.values(keys).map((k) => /^\{[^}]+\}/.exec(k)?.[0]);
  assert.deepEqual(new Set(tags), new Set(['{sluice:prod:07}']));
  assert.notEqual(shardKeys('sluice', 'prod', 8).rec, keys.rec);
});

test('fields split at the last bar, since encoded keys never contain one', () => {
  assert.deepEqual(splitField(recordField('shop.orders', '7~A%3A1')), {
    tableKey: 'shop.orders',
    pk: '7~A%3A1',
  });
  assert.deepEqual(splitField(recordField('we|ird.t|able', '1')), { tableKey: 'we|ird.t|able', pk: '1' });
  assert.throws(() => splitField('nobar'), /malformed/);
});

test('values round-trip, including JSON that contains bars', () => {
  const value = encodeValue(123, 1_700_000_000_000, 'upsert', '{"a":"x|y"}');
  assert.equal(value, '123|1700000000000|u|{"a":"x|y"}');
  const record = decodeValue('shop.t|1', value, 55);
  assert.deepEqual(record, {
    field: 'shop.t|1',
    tableKey: 'shop.t',
    pk: '1',
    version: 123,
    sourceTs: 1_700_000_000_000,
    op: 'upsert',
    json: '{"a":"x|y"}',
    bufferedAt: 55,
  });
  assert.equal(decodeValue('shop.t|1', encodeValue(9, 1, 'delete', ''), 0).op, 'delete');
  assert.throws(() => decodeValue('shop.t|1', 'garbage', 0), /malformed/);
  assert.throws(() => decodeValue('shop.t|1', '1|2|x|{}', 0), /malformed/);
});
