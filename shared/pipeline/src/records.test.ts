import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeValue } from '@sluice/buffer';
import {
  deadLetterRecord,
  parseDeadLetterRecord,
  type RowState,
  stateOfBackupRow,
  storedForms,
} from './records.ts';

const upsert: RowState = {
  tableKey: 'shop.items',
  pk: '7',
  version: 1234,
  sourceTs: 1_700_000_000_000,
  op: 'upsert',
  json: '{"id":7,"name":"a|b"}',
};
const removal: RowState = { ...upsert, pk: '8', version: 99, op: 'delete', json: '' };

test('a state becomes a buffer entry and a backup row that both come back as the same state', () => {
  for (const state of [upsert, removal]) {
    const { entry, backup } = storedForms(state, 5);
    assert.equal(entry.shard, 5);
    assert.equal(backup.shard, 5);
    assert.equal(entry.version, state.version);
    const buffered = decodeValue(entry.field, entry.value, 0);
    assert.deepEqual(
      { ...buffered, field: undefined, bufferedAt: undefined },
      { ...state, field: undefined, bufferedAt: undefined },
    );
    assert.deepEqual(stateOfBackupRow(backup), state);
  }
});

test('the backup row of a delete holds no document and the letter d', () => {
  const { backup } = storedForms(removal, 0);
  assert.deepEqual([backup.op, backup.data], ['d', null]);
  assert.deepEqual(
    [storedForms(upsert, 0).backup.op, storedForms(upsert, 0).backup.data],
    ['u', upsert.json],
  );
});

test('a flush dead letter stores the document as JSON and reads back as the state', () => {
  const payload = deadLetterRecord(upsert);
  assert.deepEqual(JSON.parse(payload).document, { id: 7, name: 'a|b' });
  assert.deepEqual(parseDeadLetterRecord(Buffer.from(payload)), upsert);
  assert.deepEqual(parseDeadLetterRecord(deadLetterRecord(removal)), removal);
  assert.equal(JSON.parse(deadLetterRecord(removal)).document, null);
});

test('payloads stored before this codec existed still read (same field names)', () => {
  const older = JSON.stringify({
    tableKey: 'shop.items',
    pk: '7',
    version: 1234,
    op: 'upsert',
    sourceTs: 1_700_000_000_000,
    document: { id: 7, name: 'a|b' },
  });
  assert.deepEqual(parseDeadLetterRecord(older), upsert);
});

test('an unreadable payload is refused with the reason, never replayed as something else', () => {
  assert.throws(() => parseDeadLetterRecord(null), /not JSON/);
  assert.throws(() => parseDeadLetterRecord('{oops'), /not JSON/);
  assert.throws(() => parseDeadLetterRecord('null'), /lacks/);
  for (const broken of [
    { ...JSON.parse(deadLetterRecord(upsert)), op: 'update' },
    { ...JSON.parse(deadLetterRecord(upsert)), version: '1234' },
    { ...JSON.parse(deadLetterRecord(upsert)), pk: 7 },
  ]) {
    assert.throws(() => parseDeadLetterRecord(JSON.stringify(broken)), /lacks/);
  }
});
