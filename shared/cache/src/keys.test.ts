import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheKey, clockKey, guardKey, parseCacheKey, tableEntryPrefix, tableGuardKey } from './keys.ts';

const layout = { prefix: 'sluice:main' };

test('an entry key names its tenant and row; guards and the clock are not entries', () => {
  const key = cacheKey(layout, 'acme', { table: 'shop.items', pk: '7~SKU%3A1' });
  assert.equal(key, '{sluice:main:cache:acme:shop.items}:7~SKU%3A1');
  assert.deepEqual(parseCacheKey(layout, key), {
    tenant: 'acme',
    row: { table: 'shop.items', pk: '7~SKU%3A1' },
  });
  assert.ok(key.startsWith(tableEntryPrefix(layout, 'acme', 'shop.items')));
  for (const other of [
    guardKey(key),
    tableGuardKey(layout, 'acme', 'shop.items'),
    clockKey(layout, 'acme', 'shop.items'),
    'sluice:main:cache:invalidations',
    '{sluice:other:cache:acme:shop.items}:1',
  ])
    assert.equal(parseCacheKey(layout, other), undefined, other);
});

test("a table's keys share one hash tag (one Redis Cluster slot), whatever its name holds", () => {
  const tagOf = (key: string) => {
    const open = key.indexOf('{');
    return key.slice(open + 1, key.indexOf('}', open + 1));
  };
  for (const table of ['shop.items', 'odd.na}me', 'a:b.c{d']) {
    const entry = cacheKey(layout, 't', { table, pk: '42' });
    const tags = new Set(
      [entry, guardKey(entry), tableGuardKey(layout, 't', table), clockKey(layout, 't', table)].map(tagOf),
    );
    assert.equal(tags.size, 1, table);
  }
  const parsed = parseCacheKey(layout, cacheKey(layout, 't', { table: 'a:b.c{d', pk: '9' }));
  assert.deepEqual(parsed, { tenant: 't', row: { table: 'a:b.c{d', pk: '9' } });
});
