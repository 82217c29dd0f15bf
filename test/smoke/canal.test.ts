// MariaDB → Canal → Kafka on the real stack: row changes arrive as Canal flat messages.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mysql, { type Connection } from 'mysql2/promise';
import { CanalTap, type TappedMessage } from '../support/canal-tap.ts';
import { stack } from '../support/stack.ts';

let tap: CanalTap;
let db: Connection;
const marker = `smoke-${Date.now()}-${process.pid}`;

before(async () => {
  tap = await CanalTap.open();
  db = await mysql.createConnection(stack().sourceMysqlUrl);
});

after(async () => {
  await tap.close();
  await db.end();
});

function rows(m: TappedMessage | undefined): Array<Record<string, string | null>> {
  assert.ok(m, 'message present');
  return m.json.data as Array<Record<string, string | null>>;
}

const of = (table: string, type: string) => (m: TappedMessage) =>
  m.json.table === table && m.json.type === type && JSON.stringify(m.json.data).includes(marker);

test('insert, update and delete of a single-key row arrive as flat messages within 30 s', async () => {
  const database = new URL(stack().sourceMysqlUrl).pathname.slice(1);
  const [inserted] = await db.query<mysql.ResultSetHeader>(
    'INSERT INTO customers (email, name, tier, balance) VALUES (?, ?, ?, ?)',
    [`${marker}@example.com`, 'Ann', 'pro', '12.50'],
  );
  const id = String(inserted.insertId);
  await db.query('UPDATE customers SET name = ?, balance = balance + 1 WHERE id = ?', ['Ann B', id]);
  await db.query('DELETE FROM customers WHERE id = ?', [id]);

  const [insert] = await tap.waitFor('the INSERT', of('customers', 'INSERT'));
  const [update] = await tap.waitFor('the UPDATE', of('customers', 'UPDATE'));
  const [remove] = await tap.waitFor('the DELETE', of('customers', 'DELETE'));
  for (const m of [insert, update, remove]) {
    assert.ok(m);
    assert.equal(m.json.database, database);
    assert.equal(m.json.table, 'customers');
    assert.equal(m.json.isDdl, false);
    assert.deepEqual(m.json.pkNames, ['id']);
    assert.equal(typeof m.json.es, 'number');
  }
  const row = (m: TappedMessage | undefined) => rows(m)[0];
  assert.equal(row(insert)?.id, id);
  assert.equal(row(insert)?.name, 'Ann');
  assert.equal(row(insert)?.email, `${marker}@example.com`);
  assert.equal(row(update)?.name, 'Ann B');
  assert.deepEqual(
    Object.keys((update?.json.old as object[] | undefined)?.[0] ?? {}).sort(),
    ['balance', 'name', 'updated_at'].sort(),
  );
  assert.equal(row(remove)?.id, id);
  assert.ok(
    Number(insert?.offset) < Number(update?.offset) && Number(update?.offset) < Number(remove?.offset),
  );
  assert.equal(insert?.partition, remove?.partition, 'all changes of a table go to one partition');
});

test('changes of a composite-key table arrive with both key columns', async () => {
  const orderId = 9_000_000 + (Date.now() % 1_000_000);
  const sku = `${marker}:A|1`;
  await db.query(
    'INSERT INTO order_items (order_id, sku, quantity, unit_price) VALUES (?, ?, 1, 9.99), (?, ?, 2, 1.00)',
    [orderId, sku, orderId, `${marker}:B`],
  );
  await db.query('UPDATE order_items SET quantity = quantity + 10 WHERE order_id = ?', [orderId]);
  await db.query('DELETE FROM order_items WHERE order_id = ? AND sku = ?', [orderId, sku]);

  const [insert] = await tap.waitFor('the INSERT', of('order_items', 'INSERT'));
  const [update] = await tap.waitFor('the UPDATE', of('order_items', 'UPDATE'));
  const [remove] = await tap.waitFor('the DELETE', of('order_items', 'DELETE'));
  assert.deepEqual(insert?.json.pkNames, ['order_id', 'sku']);
  assert.equal(rows(insert).length, 2, 'one message for the two-row insert');
  const updated = rows(update);
  assert.deepEqual(
    updated.map((r) => [r.order_id, r.sku, r.quantity]).sort(),
    [
      [String(orderId), sku, '11'],
      [String(orderId), `${marker}:B`, '12'],
    ].sort(),
  );
  assert.deepEqual(update?.json.old, [{ quantity: '1' }, { quantity: '2' }]);
  assert.deepEqual(
    rows(remove).map((r) => [r.order_id, r.sku]),
    [[String(orderId), sku]],
  );
});
