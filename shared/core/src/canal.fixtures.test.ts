// The parser on real Canal 1.1.7 flat messages captured from the local stack (MariaDB 10.11):
// test/fixtures/canal/, made by test/tools/capture-canal-fixtures.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type ParseOutcome, parseFlatMessage } from './canal.ts';
import type { ChangeRecord } from './change.ts';
import { decodePk } from './pk.ts';
import { makeVersion } from './version.ts';

const FIXTURES = new URL('../../../test/fixtures/canal/', import.meta.url);

function parse(name: string, offset = '1000'): ParseOutcome {
  const raw = readFileSync(new URL(`${name}.json`, FIXTURES));
  return parseFlatMessage(raw, {
    position: { topic: 'sluice.canal', partition: 3, offset },
    generation: 1,
    maxRowBytes: 1 << 20,
  });
}

function records(name: string): ChangeRecord[] {
  const outcome = parse(name);
  assert.equal(outcome.kind, 'rows', `${name}: ${JSON.stringify(outcome)}`);
  return outcome.kind === 'rows' ? outcome.records : [];
}

test('a multi-row INSERT: every column type becomes its documented JSON value', () => {
  const rows = records('insert-multi-row');
  assert.equal(rows.length, 3);
  const [first, nulls, odd] = rows;
  assert.equal(first?.version, makeVersion(1, 1000));
  assert.equal(first?.tableKey, 'sluice_fixtures.kinds');
  assert.deepEqual(
    { ...first?.row },
    {
      id: 1,
      name: 'plain',
      price: '12.50',
      amount: '1234567890.123456',
      ratio: 0.25,
      flags: 5,
      tier: 'pro',
      tags: ['a', 'c'],
      born: '2024-02-29',
      at: '2024-02-29T13:14:15.678',
      seen: '2024-03-01T00:00:01.500Z',
      meta: '{"k":[1,2],"n":null}',
      raw: 'AP8Q',
      note: 'line1\nline2 "quoted" ü',
      big: '18446744073709551615',
    },
  );
  assert.equal(nulls?.row?.price, '1.00', 'Canal sends 1.00 as "1.0": the scale of the type restores it');
  assert.equal(nulls?.row?.amount, null);
  assert.equal(odd?.row?.ratio, -1e10);
  assert.equal(odd?.row?.tier, 'free');
  assert.deepEqual(odd?.row?.tags, []);
  assert.equal(odd?.row?.raw, '');
  assert.equal(odd?.pk, '3');
});

test('a multi-row UPDATE gives one upsert per row with the full after image', () => {
  const rows = records('update-multi-row');
  assert.deepEqual(
    rows.map((r) => [r.pk, r.op, r.row?.price, r.row?.note]),
    [
      ['1', 'upsert', '13.50', 'updated'],
      ['2', 'upsert', '2.00', 'updated'],
    ],
  );
});

test('an UPDATE of the primary key deletes the old id and writes the new one', () => {
  const rows = records('update-pk-change');
  assert.deepEqual(
    rows.map((r) => [r.pk, r.op]),
    [
      ['3', 'delete'],
      ['30', 'upsert'],
    ],
  );
  assert.equal(rows[1]?.row?.name, 'ключ:with|separators {x}');
});

test('a DELETE carries the id and no document', () => {
  const rows = records('delete');
  assert.deepEqual(
    rows.map((r) => [r.pk, r.op, r.row]),
    [['2', 'delete', null]],
  );
});

test('composite keys: separators, non-ASCII and empty strings encode without collisions', () => {
  const inserted = records('composite-insert');
  assert.deepEqual(
    inserted.map((r) => r.pk),
    ['7~A%3A1', '7~B%7C2%20%C3%BC', '8~%_'],
  );
  assert.deepEqual(decodePk(inserted[1]?.pk ?? ''), ['7', 'B|2 ü']);
  assert.deepEqual(
    records('composite-update').map((r) => [r.pk, r.row?.qty]),
    [
      ['7~A%3A1', 10],
      ['7~B%7C2%20%C3%BC', 20],
    ],
  );
  assert.deepEqual(
    records('composite-pk-change').map((r) => [r.pk, r.op]),
    [
      ['7~A%3A1', 'delete'],
      ['7~A%3A9', 'upsert'],
    ],
  );
  assert.deepEqual(
    records('composite-delete').map((r) => [r.pk, r.op]),
    [['8~%_', 'delete']],
  );
});

test('DDL and TRUNCATE are recognised with their statement and binlog time', () => {
  for (const [name, type] of [
    ['ddl-create', 'CREATE'],
    ['ddl-alter', 'ALTER'],
    ['truncate', 'TRUNCATE'],
  ] as const) {
    const outcome = parse(name);
    assert.equal(outcome.kind, 'ddl', name);
    if (outcome.kind !== 'ddl') continue;
    assert.equal(outcome.type, type);
    assert.ok(outcome.sourceTs > 1_600_000_000_000, `${name}: es is the binlog time in ms`);
    assert.equal(outcome.database, 'sluice_fixtures');
    assert.match(outcome.sql, new RegExp(type === 'CREATE' ? 'CREATE TABLE' : type));
  }
});
