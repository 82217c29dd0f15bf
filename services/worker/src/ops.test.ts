import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BufferedRecord } from '@sluice/buffer';
import { Mapping } from '@sluice/core';
import { planOps } from './ops.ts';

const record = (tableKey: string, pk: string, op: 'upsert' | 'delete' = 'upsert'): BufferedRecord => ({
  field: `${tableKey}|${pk}`,
  tableKey,
  pk,
  version: 7,
  sourceTs: 1,
  op,
  json: op === 'delete' ? '' : '{"a":1}',
  bufferedAt: 0,
});

test('records become operations on their mapped index; ignored and unmapped tables are set apart', () => {
  const mapping = new Mapping(
    { unmapped: 'deadletter', exclude: ['shop.audit'], tables: { 'shop.orders': { index: 'orders' } } },
    'x-',
  );
  const planned = planOps(
    [
      record('shop.orders', '1'),
      record('shop.orders', '2', 'delete'),
      record('shop.audit', '3'),
      record('shop.other', '4'),
    ],
    mapping,
  );
  assert.deepEqual(
    planned.ops.map((o) => [o.index, o.id, o.op, o.version, o.ref]),
    [
      ['orders', '1', 'upsert', 7, 'shop.orders|1'],
      ['orders', '2', 'delete', 7, 'shop.orders|2'],
    ],
  );
  assert.deepEqual([...planned.indices.keys()], ['orders']);
  assert.deepEqual(
    planned.ignored.map((r) => r.pk),
    ['3'],
  );
  assert.deepEqual(
    planned.unmapped.map((r) => r.pk),
    ['4'],
  );
});
