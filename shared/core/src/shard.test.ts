import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fnv1a32, shardLabel, shardOf, shardOfRow, shardOfTable, splitTableKey, tableKey } from './shard.ts';

test('FNV-1a 32-bit matches the published test values', () => {
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
});

// Fixed vectors: changing the hash would move every table to another shard in a running cluster.
test('shard of a table is a fixed function of "<db>.<table>"', () => {
  const vectors: Array<[string, string, number, number]> = [
    ['shop', 'customers', 0xe116229e, 14],
    ['shop', 'orders', 0x4b84a6ac, 12],
    ['shop', 'order_items', 0xb89e433c, 12],
    ['shop', 'inventory', 0xb532ddff, 15],
    ['crm', 'accounts', 0x6d92c367, 7],
    ['报表', '订单', 0xf7fb014c, 12],
  ];
  for (const [db, table, hash, shard] of vectors) {
    const key = tableKey(db, table);
    assert.equal(fnv1a32(key), hash, key);
    assert.equal(shardOfTable(key, 16), shard, key);
  }
});

test('the shard is the hash modulo the shard count, for any count', () => {
  // 16 alone cannot tell a modulo from a mask of the low bits; other counts can. Expected values:
  // the hashes of the vectors above (0xe116229e, 0xb532ddff, 0x6d92c367) modulo the count.
  for (const [key, count, shard] of [
    ['shop.customers', 10, 4],
    ['shop.customers', 3, 1],
    ['shop.inventory', 100, 27],
    ['crm.accounts', 7, 3],
    ['crm.accounts', 1, 0],
  ] as const) {
    assert.equal(shardOfTable(key, count), shard, `${key} over ${count} shards`);
  }
});

test('row-level sharding hashes table and encoded key', () => {
  assert.equal(shardOfRow('shop.customers', '42', 16), 8);
  const shards = new Set<number>();
  for (let i = 0; i < 2000; i++) shards.add(shardOfRow('shop.hot', String(i), 16));
  assert.equal(shards.size, 16, 'rows of one table spread over every shard');
});

test('labels are two digits', () => {
  assert.equal(shardLabel(0), '00');
  assert.equal(shardLabel(7), '07');
  assert.equal(shardLabel(15), '15');
});

test('table keys split at the first dot; a key without both parts is refused', () => {
  assert.deepEqual(splitTableKey('shop.orders'), { database: 'shop', table: 'orders' });
  assert.deepEqual(splitTableKey('shop.orders.v2'), { database: 'shop', table: 'orders.v2' });
  for (const bad of ['nodot', '.orders', 'shop.']) assert.throws(() => splitTableKey(bad), /malformed/);
});

test('the shard of a row follows the table unless the table is sharded by row', () => {
  assert.equal(shardOf('shop.orders', '42', 16, false), shardOfTable('shop.orders', 16));
  assert.equal(shardOf('shop.orders', '42', 16, true), shardOfRow('shop.orders', '42', 16));
  const spread = new Set(Array.from({ length: 64 }, (_, i) => shardOf('shop.orders', String(i), 16, true)));
  assert.ok(spread.size > 8, `64 keys of a row-sharded table land on ${spread.size} shards`);
});
