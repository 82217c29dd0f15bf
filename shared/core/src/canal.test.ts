import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collapseByRow, type ParseContext, parseFlatMessage } from './canal.ts';
import type { ChangeRecord } from './change.ts';
import { makeVersion } from './version.ts';

const ctx = (offset = '100', maxRowBytes = 1 << 20): ParseContext => ({
  position: { topic: 't', partition: 2, offset },
  generation: 0,
  maxRowBytes,
});

function message(overrides: Record<string, unknown>): string {
  return JSON.stringify({
    id: 3,
    database: 'shop',
    table: 'customers',
    pkNames: ['id'],
    isDdl: false,
    type: 'INSERT',
    es: 1_700_000_000_000,
    ts: 1_700_000_000_123,
    sql: '',
    sqlType: { id: -5, name: 12 },
    mysqlType: { id: 'bigint(20)', name: 'varchar(20)', balance: 'decimal(10,2)' },
    data: [{ id: '1', name: 'Ann', balance: '1.50' }],
    old: null,
    ...overrides,
  });
}

function rowsOf(raw: string, offset = '100'): ChangeRecord[] {
  const outcome = parseFlatMessage(raw, ctx(offset));
  assert.equal(outcome.kind, 'rows', JSON.stringify(outcome));
  return outcome.kind === 'rows' ? outcome.records : [];
}

function invalidReason(raw: string | Buffer, context = ctx()): string {
  const outcome = parseFlatMessage(raw, context);
  assert.equal(outcome.kind, 'invalid', JSON.stringify(outcome));
  return outcome.kind === 'invalid' ? outcome.reason : '';
}

test('an INSERT becomes an upsert with a typed row, the offset version and the event time', () => {
  const [record] = rowsOf(message({}), '100');
  assert.ok(record);
  assert.equal(record.op, 'upsert');
  assert.equal(record.tableKey, 'shop.customers');
  assert.equal(record.pk, '1');
  assert.equal(record.version, makeVersion(0, 100));
  assert.equal(record.sourceTs, 1_700_000_000_000);
  assert.deepEqual({ ...record.row }, { id: 1, name: 'Ann', balance: '1.50' });
  assert.deepEqual(record.position, { topic: 't', partition: 2, offset: '100' });
});

test('several rows per message give several records in row order', () => {
  const records = rowsOf(
    message({
      type: 'UPDATE',
      data: [
        { id: '1', name: 'A', balance: '0' },
        { id: '2', name: 'B', balance: '0' },
      ],
      old: [{ name: 'a' }, { name: 'b' }],
    }),
  );
  assert.deepEqual(
    records.map((r) => [r.pk, r.op]),
    [
      ['1', 'upsert'],
      ['2', 'upsert'],
    ],
  );
});

test('a DELETE carries no row image', () => {
  const [record] = rowsOf(message({ type: 'DELETE' }));
  assert.equal(record?.op, 'delete');
  assert.equal(record?.row, null);
});

test('an UPDATE that changes the primary key deletes the old id and writes the new one', () => {
  const records = rowsOf(
    message({
      type: 'UPDATE',
      pkNames: ['order_id', 'sku'],
      mysqlType: { order_id: 'bigint', sku: 'varchar(64)', qty: 'int' },
      data: [{ order_id: '7', sku: 'B:2', qty: '1' }],
      old: [{ sku: 'A:1' }],
    }),
  );
  assert.deepEqual(
    records.map((r) => [r.pk, r.op]),
    [
      ['7~A%3A1', 'delete'],
      ['7~B%3A2', 'upsert'],
    ],
  );
});

test('an UPDATE whose old values name the pk with the same value is a plain update', () => {
  const records = rowsOf(message({ type: 'UPDATE', old: [{ id: '1', name: 'x' }] }));
  assert.deepEqual(
    records.map((r) => r.op),
    ['upsert'],
  );
});

test('hostile column names stay plain keys of the row', () => {
  const [record] = rowsOf(
    message({
      mysqlType: JSON.parse('{"id":"int","__proto__":"varchar(5)"}'),
      data: [JSON.parse('{"id":"1","__proto__":"x","constructor":"y"}')],
    }),
  );
  assert.ok(record?.row);
  assert.equal(Object.getPrototypeOf(record.row), null);
  assert.equal(Object.getOwnPropertyDescriptor(record.row, '__proto__')?.value, 'x');
  assert.equal(record.row.constructor, 'y');
  assert.equal(JSON.stringify(record.row), '{"id":1,"__proto__":"x","constructor":"y"}');
});

test('DDL and TRUNCATE are recognised, not applied', () => {
  const ddl = parseFlatMessage(
    message({
      isDdl: true,
      type: 'ALTER',
      sql: 'ALTER TABLE customers ADD c INT',
      data: null,
      pkNames: null,
    }),
    ctx(),
  );
  assert.equal(ddl.kind, 'ddl');
  assert.equal(ddl.kind === 'ddl' ? ddl.sql : '', 'ALTER TABLE customers ADD c INT');
  const truncate = parseFlatMessage(message({ isDdl: true, type: 'TRUNCATE', data: null }), ctx());
  assert.equal(truncate.kind === 'ddl' ? truncate.type : '', 'TRUNCATE');
  assert.ok(truncate.kind === 'ddl' && truncate.sourceTs > 0, 'the binlog time orders it against rows');
});

test('QUERY events are ignored', () => {
  assert.equal(
    parseFlatMessage(message({ type: 'QUERY', database: '', table: '', data: null }), ctx()).kind,
    'ignored',
  );
});

test('bad messages come back with a dead-letter reason, never a throw', () => {
  assert.equal(invalidReason('{not json'), 'invalid_json');
  assert.equal(invalidReason(Buffer.from([0xff, 0xfe, 0x00])), 'invalid_json');
  assert.equal(invalidReason('[1,2]'), 'invalid_shape');
  assert.equal(invalidReason('null'), 'invalid_shape');
  assert.equal(invalidReason(message({ type: 7 })), 'invalid_shape');
  assert.equal(invalidReason(message({ type: 'MERGE' })), 'unknown_type');
  assert.equal(invalidReason(message({ pkNames: null })), 'missing_pk');
  assert.equal(invalidReason(message({ pkNames: [] })), 'missing_pk');
  assert.equal(invalidReason(message({ pkNames: 'id' })), 'invalid_shape');
  assert.equal(invalidReason(message({ data: [{ name: 'x' }] })), 'pk_column_absent');
  assert.equal(invalidReason(message({ data: [{ id: null, name: 'x' }] })), 'pk_column_absent');
  assert.equal(invalidReason(message({ data: [] })), 'invalid_shape');
  assert.equal(invalidReason(message({ data: [{ id: 1 }] })), 'invalid_shape');
  assert.equal(invalidReason(message({ data: 'x' })), 'invalid_shape');
  assert.equal(invalidReason(message({ old: [{}, {}] })), 'invalid_shape');
  assert.equal(invalidReason(message({ es: 'yesterday' })), 'invalid_shape');
  assert.equal(invalidReason(message({ database: '' })), 'invalid_shape');
  assert.equal(invalidReason(message({ mysqlType: { id: 5 } })), 'invalid_shape');
  const big = message({ data: [{ id: '1', name: 'x'.repeat(2000) }] });
  assert.equal(invalidReason(big, ctx('1', 1000)), 'row_too_large');
});

test('collapsing keeps the newest record per row and counts the merged ones', () => {
  const base = rowsOf(message({}), '1')[0] as ChangeRecord;
  const r = (pk: string, version: number, op: 'upsert' | 'delete' = 'upsert'): ChangeRecord => ({
    ...base,
    pk,
    version,
    op,
  });
  const { records, merged } = collapseByRow([
    r('1', 1),
    r('2', 2),
    r('1', 3, 'delete'),
    r('1', 3),
    r('2', 1),
  ]);
  assert.equal(merged, 3);
  assert.deepEqual(records.map((x) => [x.pk, x.version, x.op]).sort(), [
    ['1', 3, 'upsert'],
    ['2', 2, 'upsert'],
  ]);
});
