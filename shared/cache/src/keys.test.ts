import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheKey, guardKey, parseCacheKey, tableEntryPrefix, tableGuardKey } from './keys.ts';

const layout = { prefix: 'sluice:main' };

test('an entry key names its tenant and row; guards and the clock are not entries', () => {
  const key = cacheKey(layout, 'acme', { table: 'shop.items', pk: '7~SKU%3A1' });
  assert.equal(key, 'sluice:main:cache:acme:shop.items:7~SKU%3A1');
  assert.deepEqual(parseCacheKey(layout, key), {
    tenant: 'acme',
    row: { table: 'shop.items', pk: '7~SKU%3A1' },
  });
  assert.ok(key.startsWith(tableEntryPrefix(layout, 'acme', 'shop.items')));
  for (const other of [
    guardKey(key),
    tableGuardKey(layout, 'acme', 'shop.items'),
    'sluice:main:cache:clock',
    'sluice:main:cache:invalidations',
    'sluice:other:cache:acme:shop.items:1',
  ])
    assert.equal(parseCacheKey(layout, other), undefined, other);
});
