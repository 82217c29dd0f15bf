import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnType } from '@sluice/core';
import { afterKeyParams, afterKeySql, type TableShape } from './row-chunks.ts';
import { chunkDigest, hasDifferences } from './table-check.ts';

const shape: TableShape = {
  database: 'shop',
  table: 'lines',
  columns: [
    { name: 'order_id', type: columnType('int') },
    { name: 'sku', type: columnType('varbinary(8)') },
    { name: 'qty', type: columnType('int') },
  ],
  pk: ['order_id', 'sku'],
};

test('rows after a composite key: each prefix equal and the next column greater', () => {
  assert.equal(afterKeySql(['a']), '(`a` > ?)');
  assert.equal(
    afterKeySql(['a', 'b', 'c']),
    '(`a` > ?) OR (`a` = ? AND `b` > ?) OR (`a` = ? AND `b` = ? AND `c` > ?)',
  );
  const params = afterKeyParams(shape, ['42', 'x\u00ff']);
  assert.equal(params.length, 3);
  assert.equal(params[0], '42');
  assert.equal(params[1], '42');
  assert.deepEqual(params[2], Buffer.from([0x78, 0xff]), 'a binary key goes back as its bytes');
});

test('chunk digests: equal for the same documents in any key order, different for any change', () => {
  const a = chunkDigest([
    ['1', { x: 1, y: 'a' }],
    ['2', { y: 'b', x: 2 }],
  ]);
  assert.equal(
    a,
    chunkDigest([
      ['1', { y: 'a', x: 1 }],
      ['2', { x: 2, y: 'b' }],
    ]),
  );
  assert.notEqual(
    a,
    chunkDigest([
      ['1', { x: 1, y: 'a' }],
      ['2', { x: 2, y: 'B' }],
    ]),
  );
  assert.notEqual(
    a,
    chunkDigest([
      ['1', { x: 1, y: 'a' }],
      ['2', undefined],
    ]),
    'a missing document',
  );
  assert.notEqual(
    a,
    chunkDigest([
      ['1', { x: 1, y: 'a' }],
      ['3', { x: 2, y: 'b' }],
    ]),
    'another id',
  );
  assert.equal(hasDifferences({ missing: 0, stale: 0, extra: 0 }), false);
  assert.equal(hasDifferences({ missing: 0, stale: 0, extra: 1 }), true);
});
