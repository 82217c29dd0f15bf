import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asOpCode, opCode, opOfCode } from './change.ts';

test('operations and their stored letters map both ways', () => {
  assert.equal(opCode('upsert'), 'u');
  assert.equal(opCode('delete'), 'd');
  assert.equal(opOfCode('u'), 'upsert');
  assert.equal(opOfCode('d'), 'delete');
  assert.equal(asOpCode('d'), 'd');
});

test('an unknown letter is a malformed value, never taken for an upsert', () => {
  for (const bad of ['', 'x', 'U', 'del', 'delete']) {
    assert.throws(() => opOfCode(bad), /unknown operation code/);
    assert.throws(() => asOpCode(bad), /unknown operation code/);
  }
});
