import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseRowPath, RowRequestError } from './rows.ts';

test('a row path names the database, the table and the encoded primary key', () => {
  assert.deepEqual(parseRowPath('/rows/shop/items/42'), {
    database: 'shop',
    table: 'items',
    tableKey: 'shop.items',
    id: '42',
  });
  assert.equal(parseRowPath('/rows/shop/order%20lines/7~SKU%3A1').table, 'order lines');
  assert.equal(parseRowPath('/rows/shop/lines/7~SKU%3A1').id, '7~SKU%3A1', 'the id stays encoded');
});

test('malformed row paths are refused with 400 and what to ask for', () => {
  for (const path of ['/rows/shop/items', '/rows/shop/items/', '/rows//items/1', '/rows/a/b/c/d']) {
    assert.throws(
      () => parseRowPath(path),
      (e: unknown) =>
        e instanceof RowRequestError && e.status === 400 && /\/rows\/<database>/.test(e.message),
      path,
    );
  }
  assert.throws(() => parseRowPath('/rows/shop/items/a:b'), /not an encoded primary key/);
  assert.throws(() => parseRowPath('/rows/shop/items/%ZZ'), /not an encoded primary key/);
  assert.throws(() => parseRowPath('/rows/sh%E0op/items/1'), /not URL-encoded/);
});
