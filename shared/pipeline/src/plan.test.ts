import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFlatMessage, Mapping, shardOfTable } from '@sluice/core';
import { type ParsedMessage, type PlanContext, planBatch } from './plan.ts';

const message = (fields: Record<string, unknown>) =>
  JSON.stringify({
    database: 'shop',
    table: 'items',
    pkNames: ['id'],
    isDdl: false,
    type: 'INSERT',
    es: 1000,
    ts: 1001,
    mysqlType: { id: 'int', name: 'varchar(9)' },
    data: [{ id: '1', name: 'a' }],
    old: null,
    ...fields,
  });

function parsed(offset: number, raw: string, replay = false): ParsedMessage {
  const position = { topic: 't', partition: 2, offset: String(offset) };
  return {
    offset: String(offset),
    raw: Buffer.from(raw),
    outcome: replay ? undefined : decodeFlatMessage(raw, { position, generation: 0, maxRowBytes: 1 << 20 }),
  };
}

const ctx = (mapping: Mapping, place?: { topic: string; partition: number }): PlanContext => ({
  topic: 't',
  partition: 2,
  shards: 16,
  mapping,
  placeOf: () => place,
});

test('rows become buffer entries and backup rows with the newest version per row', () => {
  const plan = planBatch(
    [
      parsed(10, message({})),
      parsed(11, message({ type: 'UPDATE', data: [{ id: '1', name: 'b' }], old: [{ name: 'a' }] })),
      parsed(12, message({ data: [{ id: '2', name: 'c' }] })),
    ],
    ctx(new Mapping({})),
  );
  assert.equal(plan.merged, 1);
  assert.deepEqual(
    plan.backupRows.map((r) => [r.primaryKey, r.version, r.data]),
    [
      ['1', 11, '{"id":1,"name":"b"}'],
      ['2', 12, '{"id":2,"name":"c"}'],
    ],
  );
  assert.equal(plan.entries[0]?.shard, shardOfTable('shop.items', 16));
  assert.equal(plan.entries[0]?.value, '11|1000|u|{"id":1,"name":"b"}');
  assert.deepEqual(plan.records, { upsert: 2, delete: 0 });
  assert.equal(plan.messages.get('shop.items|INSERT'), 2);
});

test('replayed offsets are refused; DDL, bad messages and unmapped tables are dead-lettered with their position', () => {
  const plan = planBatch(
    [
      parsed(5, message({}), true),
      parsed(6, message({ isDdl: true, type: 'ALTER', sql: 'ALTER TABLE items ADD x INT', data: null })),
      parsed(7, '{broken'),
      parsed(8, message({ database: 'other', table: 'x' })),
    ],
    ctx(new Mapping({ unmapped: 'deadletter', tables: { 'shop.*': null } })),
  );
  assert.equal(plan.replayed, 1);
  assert.deepEqual(
    plan.deadLetters.map((d) => [d.offset, d.reason, d.tableName]),
    [
      ['6', 'ddl_not_applied', 'shop.items'],
      ['7', 'invalid_json', undefined],
      ['8', 'unmapped_table', 'other.x'],
    ],
  );
  assert.ok(
    plan.deadLetters.every((d) => d.topic === 't' && d.partition === 2 && Buffer.isBuffer(d.payload)),
  );
  assert.equal(plan.entries.length, 0);
});

test('tables the mapping skips are skipped with their DDL and bad messages, not dead-lettered', () => {
  const plan = planBatch(
    [
      parsed(1, message({ database: 'skip' })),
      parsed(
        2,
        message({
          database: 'skip',
          isDdl: true,
          type: 'CREATE',
          sql: 'CREATE TABLE items (id INT)',
          data: null,
        }),
      ),
      parsed(3, message({ database: 'skip', pkNames: [] })),
    ],
    ctx(new Mapping({ exclude: ['skip.*'] })),
  );
  assert.equal(plan.ignored, 3);
  assert.equal(plan.deadLetters.length, 0);
  assert.equal(plan.entries.length, 0);
});

test('a table arriving in another partition than recorded is dead-lettered, not silently refused', () => {
  const plan = planBatch([parsed(3, message({}))], ctx(new Mapping({}), { topic: 't', partition: 0 }));
  assert.deepEqual(
    plan.deadLetters.map((d) => d.reason),
    ['table_moved_partition'],
  );
  assert.equal(plan.entries.length, 0);
});

test('a row-sharded table spreads its rows over shards', () => {
  const rows = Array.from({ length: 200 }, (_, i) => ({ id: String(i), name: 'x' }));
  const plan = planBatch(
    [parsed(1, message({ data: rows }))],
    ctx(new Mapping({ tables: { 'shop.items': { row_sharded: true } } })),
  );
  assert.ok(new Set(plan.entries.map((e) => e.shard)).size > 8);
});

test("Sluice's own metadata database is skipped whatever the mapping says (no echo through Canal)", () => {
  const plan = planBatch(
    [
      parsed(1, message({ database: 'sluice_meta', table: 'dead_letter' })),
      parsed(
        2,
        message({
          database: 'sluice_meta',
          isDdl: true,
          type: 'CREATE',
          sql: 'CREATE TABLE x (id INT)',
          data: null,
        }),
      ),
    ],
    { ...ctx(new Mapping({ unmapped: 'deadletter' })), skipDatabases: new Set(['sluice_meta']) },
  );
  assert.deepEqual([plan.ignored, plan.deadLetters.length, plan.entries.length], [2, 0, 0]);
});

test('DDL by policy: CREATE and index changes are counted, TRUNCATE / DROP become resets, ALTER of columns a dead letter', () => {
  const ddl = (offset: number, type: string, sql: string, table = 'items') =>
    parsed(offset, message({ isDdl: true, type, sql, table, data: null, pkNames: null, es: 5000 + offset }));
  const mapping = new Mapping({
    tables: {
      'shop.items': null,
      'shop.hot': { row_sharded: true },
      'shop.kept': { ddl: { truncate: 'keep', drop: 'keep' } },
    },
  });
  const plan = planBatch(
    [
      ddl(1, 'CREATE', 'CREATE TABLE items (id INT PRIMARY KEY)'),
      ddl(2, 'CINDEX', 'CREATE INDEX i ON items (name)'),
      ddl(3, 'ALTER', 'ALTER TABLE items ADD INDEX j (name)'),
      ddl(4, 'TRUNCATE', 'TRUNCATE TABLE items'),
      ddl(5, 'ERASE', 'DROP TABLE hot', 'hot'),
      ddl(6, 'TRUNCATE', 'TRUNCATE TABLE kept', 'kept'),
      ddl(7, 'ALTER', 'ALTER TABLE items DROP COLUMN name'),
    ],
    { ...ctx(mapping), applyResets: true },
  );
  assert.deepEqual(
    plan.ddl.map((d) => [d.type, d.action]),
    [
      ['CREATE', 'none'],
      ['CINDEX', 'none'],
      ['ALTER', 'none'],
      ['TRUNCATE', 'reset'],
      ['ERASE', 'reset'],
      ['TRUNCATE', 'kept'],
      ['ALTER', 'dead_letter'],
    ],
  );
  assert.deepEqual(
    plan.deadLetters.map((d) => [d.offset, d.reason]),
    [['7', 'ddl_not_applied']],
  );
  assert.deepEqual(
    plan.resets.map((r) => [r.tableName, r.kind, r.fenceTs, r.shards.length]),
    [
      ['shop.items', 'TRUNCATE', 5004, 1],
      ['shop.hot', 'ERASE', 5005, 16],
    ],
  );
  assert.deepEqual(plan.resets[0]?.shards, [shardOfTable('shop.items', 16)]);

  const without = planBatch([ddl(4, 'TRUNCATE', 'TRUNCATE TABLE items')], ctx(mapping));
  assert.deepEqual(
    without.deadLetters.map((d) => d.reason),
    ['truncate_not_applied'],
    'without a source MySQL the workers cannot tell which rows are gone',
  );
  assert.deepEqual(without.resets, []);
});

test('the newest column types of each table go with the plan, for the index mappings', () => {
  const plan = planBatch(
    [
      parsed(1, message({})),
      parsed(2, message({ mysqlType: { id: 'int', name: 'varchar(9)', added: 'date' } })),
    ],
    ctx(new Mapping({})),
  );
  assert.deepEqual(Object.keys(plan.schemas.get('shop.items')?.types ?? {}), ['id', 'name', 'added']);
});

test('text holding U+FFFD (bytes Canal could not decode) is applied and named once per column', () => {
  const plan = planBatch(
    [
      parsed(1, message({ data: [{ id: '1', name: 'Caf\uFFFD' }] })),
      parsed(2, message({ data: [{ id: '2', name: 'cr\uFFFDme' }] })),
      parsed(3, message({ data: [{ id: '3', name: 'fine' }] })),
    ],
    ctx(new Mapping({})),
  );
  assert.deepEqual([...plan.undecodable], [['shop.items|name', '1']]);
  assert.equal(plan.entries.length, 3, 'every row is still applied');
  assert.deepEqual(plan.deadLetters, []);
});
