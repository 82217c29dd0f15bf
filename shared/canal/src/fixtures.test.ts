// The TCP path on packets captured from the real Canal server (test/fixtures/canal-tcp/, made by
// test/tools/capture-canal-tcp.ts from the local stack's two Canals): each Messages packet decodes,
// its entries convert to exactly the flat messages the Kafka-mode Canal published for the same
// statements, and Sluice's one decoder makes the expected records of them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseFlatMessage } from '@sluice/core';
import { type ConvertedEntry, convertEntry, type FlatMessage } from './flat.ts';
import { decodePacket, EntryType, PacketType } from './protocol.ts';

const DIR = new URL('../../../test/fixtures/canal-tcp/', import.meta.url);

interface Fixture {
  scenario: string;
  sql: string[];
  packets: string[];
  kafka: FlatMessage[];
}

function load(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`${name}.json`, DIR), 'utf8')) as Fixture;
}

function entriesOf(fixture: Fixture): ConvertedEntry[] {
  const entries: ConvertedEntry[] = [];
  for (const base64 of fixture.packets) {
    const packet = decodePacket(Buffer.from(base64, 'base64'));
    assert.equal(packet.type, PacketType.MESSAGES);
    const batchId = Number(packet.body.batchId);
    assert.ok(batchId > 0, 'a captured batch has an id');
    for (const bytes of packet.body.messages as Buffer[]) entries.push(convertEntry(bytes, batchId, 1_000));
  }
  return entries;
}

const messagesOf = (fixture: Fixture) => entriesOf(fixture).flatMap((e) => (e.message ? [e.message] : []));

/** Without the fields that differ by nature (batch id, conversion time), grouped by table in order. */
function comparable(messages: readonly FlatMessage[]): Record<string, unknown[]> {
  const byTable: Record<string, unknown[]> = {};
  for (const { id: _id, ts: _ts, ...rest } of messages) {
    byTable[rest.table] = [...(byTable[rest.table] ?? []), rest];
  }
  return byTable;
}

const CTX = {
  position: { topic: 'changes:0', partition: 0, offset: '42' },
  generation: 0,
  maxRowBytes: 1 << 20,
};

test('every captured entry converts to the flat message the Kafka-mode Canal published for it', () => {
  const names = readdirSync(DIR).filter((f) => f.endsWith('.json'));
  assert.ok(names.length >= 7, `fixtures present (${names.length})`);
  for (const name of names) {
    const fixture = load(name.replace(/\.json$/, ''));
    const messages = messagesOf(fixture);
    assert.equal(messages.length, fixture.kafka.length, `${name}: one flat message per row or DDL entry`);
    // Kafka orders messages per partition (per table), so compare table by table
    assert.deepEqual(comparable(messages), comparable(fixture.kafka), name);
    for (const message of messages) {
      assert.equal(message.id, messages[0]?.id, 'id is the batch id');
      assert.equal(message.ts, 1_000, 'ts is the conversion time');
    }
  }
});

test('a multi-row update: one entry, both rows, the old values of the changed columns per row', () => {
  const [message, ...rest] = messagesOf(load('update-multi-row'));
  assert.equal(rest.length, 0);
  assert.equal(message?.type, 'UPDATE');
  assert.deepEqual(message?.pkNames, ['id']);
  assert.deepEqual(message?.old, [
    { price: '12.50', note: 'line1\nline2 "quoted" ü' },
    { price: '1.0', note: null },
  ]);
  const outcome = parseFlatMessage(JSON.stringify(message), CTX);
  assert.equal(outcome.kind, 'rows');
  if (outcome.kind !== 'rows') return;
  assert.deepEqual(
    outcome.records.map((r) => [r.pk, r.op, r.row?.note]),
    [
      ['1', 'upsert', 'updated'],
      ['2', 'upsert', 'updated'],
    ],
  );
  assert.ok(outcome.records.every((r) => r.database === 'sluice_tcp_fixtures' && r.table === 'kinds'));
});

test('a primary-key change: the old id is deleted and the new one written, at the same version', () => {
  const [message] = messagesOf(load('update-pk-change'));
  assert.deepEqual(message?.old, [{ id: '3' }]);
  const outcome = parseFlatMessage(JSON.stringify(message), CTX);
  assert.equal(outcome.kind, 'rows');
  if (outcome.kind !== 'rows') return;
  assert.deepEqual(
    outcome.records.map((r) => [r.pk, r.op]),
    [
      ['3', 'delete'],
      ['30', 'upsert'],
    ],
  );
  assert.equal(new Set(outcome.records.map((r) => r.version)).size, 1);
  assert.equal(outcome.records[1]?.row?.name, 'ключ:with|separators {x}');
});

test('DDL: CREATE and ALTER come through as statements, not rows', () => {
  for (const [name, type] of [
    ['ddl-create', 'CREATE'],
    ['ddl-alter', 'ALTER'],
  ] as const) {
    const [message] = messagesOf(load(name));
    assert.equal(message?.isDdl, true);
    assert.equal(message?.data, null);
    const outcome = parseFlatMessage(JSON.stringify(message), CTX);
    assert.equal(outcome.kind, 'ddl', name);
    if (outcome.kind !== 'ddl') continue;
    assert.equal(outcome.type, type);
    assert.equal(outcome.table, 'kinds');
    assert.match(outcome.sql, type === 'ALTER' ? /ADD COLUMN color/ : /CREATE TABLE/);
  }
});

test('a transaction: its rows in statement order, then its end, at increasing binlog positions', () => {
  const entries = entriesOf(load('transaction'));
  const kinds = entries.map((e) => (e.message ? `${e.message.table}/${e.message.type}` : e.entryType));
  // the CREATE TABLE before BEGIN is a transaction of its own (DDL has no transaction end entry)
  assert.deepEqual(kinds, [
    'lines/CREATE',
    'lines/INSERT',
    'kinds/UPDATE',
    'lines/DELETE',
    EntryType.TRANSACTIONEND,
  ]);
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1] as ConvertedEntry, entries[i] as ConvertedEntry];
    assert.equal(b.logfileName, a.logfileName);
    assert.ok(b.logfileOffset > a.logfileOffset, 'positions increase');
  }
  const end = entries.at(-1) as ConvertedEntry;
  assert.equal(end.message, undefined, 'a transaction end makes no message');
});
