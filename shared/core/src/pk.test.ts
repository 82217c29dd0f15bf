import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodePk, encodePk, MAX_ID_BYTES } from './pk.ts';

test('plain keys stay readable', () => {
  assert.equal(encodePk(['42']), '42');
  assert.equal(encodePk(['order-7.a_b']), 'order-7.a_b');
  assert.equal(encodePk(['7', 'SKU-1']), '7~SKU-1');
});

test('separators, spaces, braces, control characters and non-ASCII are escaped', () => {
  assert.equal(encodePk(['a:b']), 'a%3Ab');
  assert.equal(encodePk(['a|b']), 'a%7Cb');
  assert.equal(encodePk(['{x}']), '%7Bx%7D');
  assert.equal(encodePk(['a b']), 'a%20b');
  assert.equal(encodePk(['a~b']), 'a%7Eb');
  assert.equal(encodePk(['%']), '%25');
  assert.equal(encodePk(['\u0000\n']), '%00%0A');
  assert.equal(encodePk(['ü']), '%C3%BC');
  assert.equal(encodePk(['订单']), '%E8%AE%A2%E5%8D%95');
  assert.equal(encodePk(['']), '%_');
  assert.equal(encodePk(['', '']), '%_~%_');
});

test('composite keys never collide with each other or with single keys', () => {
  const keys: string[][] = [
    ['a', 'b'],
    ['a~b'],
    ['a', '~b'],
    ['a~', 'b'],
    ['a', 'b', ''],
    ['a', ''],
    ['a'],
    ['', 'a'],
    ['%_'],
    ['%'],
    ['a%7Eb'],
    ['1:2'],
    ['1', '2'],
    ['12'],
    ['1|2'],
    ['{1}', '2'],
    ['#abc'],
  ];
  const seen = new Map<string, string[]>();
  for (const values of keys) {
    const id = encodePk(values);
    assert.ok(
      !seen.has(id),
      `${JSON.stringify(values)} collides with ${JSON.stringify(seen.get(id))} as '${id}'`,
    );
    seen.set(id, values);
  }
});

test('every encoding round-trips', () => {
  const samples = [
    ['42'],
    ['7', 'a:b|c{d} e'],
    ['', 'x'],
    ['ü', '订单', '🙂'],
    ['\u0001\u007f', '~~', '%%'],
    ['__proto__', 'constructor'],
  ];
  for (const values of samples) assert.deepEqual(decodePk(encodePk(values)), values);
});

test('random values round-trip and stay distinct', () => {
  const alphabet = ['a', 'Z', '0', '~', '%', '_', '-', '.', ':', '|', ' ', 'é', '\u0000', '{', '}', '#'];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed;
  };
  const ids = new Map<string, string>();
  for (let i = 0; i < 5000; i++) {
    const parts = 1 + (next() % 3);
    const values = Array.from({ length: parts }, () =>
      Array.from({ length: next() % 5 }, () => alphabet[next() % alphabet.length]).join(''),
    );
    const id = encodePk(values);
    assert.deepEqual(decodePk(id), values);
    const key = JSON.stringify(values);
    const previous = ids.get(id);
    assert.ok(previous === undefined || previous === key, `${key} and ${previous} share id ${id}`);
    ids.set(id, key);
  }
});

test('over-long keys become a fixed-length hash that fits the _id limit', () => {
  const long = 'x'.repeat(600);
  const id = encodePk([long]);
  assert.match(id, /^#[0-9a-f]{64}$/);
  assert.equal(decodePk(id), undefined);
  assert.notEqual(encodePk([`${long}y`]), id);
  assert.equal(encodePk(['x'.repeat(MAX_ID_BYTES)]).length, MAX_ID_BYTES);
});

test('malformed encodings are rejected when decoding', () => {
  assert.throws(() => decodePk('%G1'), /bad escape/);
  assert.throws(() => decodePk('a b'), /unexpected character/);
  assert.throws(() => encodePk([]), /at least one column/);
});
