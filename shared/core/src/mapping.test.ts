import assert from 'node:assert/strict';
import { test } from 'node:test';
import { emptyRow, type Row } from './change.ts';
import { Mapping, sanitizeIndexName } from './mapping.ts';

function row(values: Record<string, unknown>): Row {
  return Object.assign(emptyRow(), values) as Row;
}

test('by default every table is indexed under "<prefix><db>.<table>"', () => {
  const route = new Mapping({}, 'sluice-').route('Shop', 'Customers');
  assert.equal(route.action, 'index');
  assert.equal(route.action === 'index' ? route.mapping.index : '', 'sluice-shop.customers');
});

test('exact rules win over patterns; patterns need {table} in a custom index name', () => {
  const mapping = new Mapping({
    tables: {
      'shop.*': { index: 'all-{db}-{table}' },
      'shop.customers': { index: 'customers', row_sharded: true },
    },
  });
  const customers = mapping.route('shop', 'customers');
  const orders = mapping.route('shop', 'orders');
  assert.equal(customers.action === 'index' ? customers.mapping.index : '', 'customers');
  assert.equal(customers.action === 'index' ? customers.mapping.rowSharded : false, true);
  assert.equal(orders.action === 'index' ? orders.mapping.index : '', 'all-shop-orders');
  assert.throws(
    () => new Mapping({ tables: { 'shop.*': { index: 'one-index' } } }),
    /must contain \{table\}/,
  );
});

test('exclude skips tables; unmapped decides for tables no rule names', () => {
  const mapping = new Mapping({
    unmapped: 'deadletter',
    exclude: ['shop.audit_*'],
    tables: { 'shop.orders': null },
  });
  assert.equal(mapping.route('shop', 'audit_2024').action, 'ignore');
  assert.equal(mapping.route('shop', 'orders').action, 'index');
  assert.equal(mapping.route('shop', 'unknown').action, 'deadletter');
  assert.equal(new Mapping({ unmapped: 'ignore' }).route('a', 'b').action, 'ignore');
});

test('columns are included, excluded and renamed', () => {
  const mapping = new Mapping({
    tables: {
      'shop.a': { columns: { include: ['id', 'name'], rename: { name: 'full_name' } } },
      'shop.b': { columns: { exclude: ['secret'] } },
    },
  });
  const a = mapping.route('shop', 'a');
  const b = mapping.route('shop', 'b');
  assert.ok(a.action === 'index' && b.action === 'index');
  assert.deepEqual(
    { ...a.mapping.project(row({ id: 1, name: 'n', secret: 's' })) },
    { id: 1, full_name: 'n' },
  );
  assert.deepEqual({ ...b.mapping.project(row({ id: 1, name: 'n', secret: 's' })) }, { id: 1, name: 'n' });
});

test('invalid mapping files are refused with the failing key', () => {
  assert.throws(() => new Mapping({ unmapped: 'drop' }), /unmapped/);
  assert.throws(() => new Mapping({ tables: { 'shop.a': { colums: {} } } }), /tables\.shop\.a/);
  assert.throws(
    () => new Mapping({ tables: { 'shop.a': { columns: { include: ['a'], exclude: ['b'] } } } }),
    /either include or exclude/,
  );
});

test('index names are made valid for Elasticsearch', () => {
  assert.equal(sanitizeIndexName('Shop.My Table'), 'shop.my_table');
  assert.equal(sanitizeIndexName('_x:y'), 'x_y');
  assert.equal(sanitizeIndexName('..'), 'idx..');
  assert.ok(Buffer.byteLength(sanitizeIndexName('x'.repeat(300))) <= 255);
});

test('columns named under json are parsed; other text stays text', () => {
  const mapping = new Mapping({ tables: { 'shop.a': { columns: { json: ['profile'] } } } });
  const route = mapping.route('shop', 'a');
  assert.ok(route.action === 'index');
  const doc = route.mapping.project(row({ profile: '{"x":[1,2]}', note: '{"y":1}', bad: 'x' }));
  assert.deepEqual({ ...doc }, { profile: { x: [1, 2] }, note: '{"y":1}', bad: 'x' });
  const broken = route.mapping.project(row({ profile: '{oops' }));
  assert.equal(broken.profile, '{oops');
  const hostile = route.mapping.project(row({ profile: '{"__proto__":{"polluted":true}}' }));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.ok(Object.hasOwn(hostile.profile as object, '__proto__'));
});
