import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diffProperties } from './schema.ts';

test('fields the index lacks are added; same types are left alone; other types are conflicts', () => {
  const { add, conflicts } = diffProperties(
    {
      id: { type: 'long' },
      name: { type: 'text', fields: { keyword: { type: 'keyword' } } },
      price: { type: 'float' },
      meta: { properties: { a: { type: 'long' } } },
    },
    {
      id: { type: 'long' },
      name: { type: 'text' },
      price: { type: 'double' },
      meta: { type: 'flattened' },
      born: { type: 'date', ignore_malformed: true },
    },
  );
  assert.deepEqual(add, { born: { type: 'date', ignore_malformed: true } });
  assert.deepEqual(conflicts, [
    { field: 'price', existing: 'float', wanted: 'double' },
    { field: 'meta', existing: 'object', wanted: 'flattened' },
  ]);
});

test('prototype-named fields are plain keys', () => {
  const existing = JSON.parse('{"__proto__":{"type":"long"}}') as Record<string, Record<string, unknown>>;
  const { add, conflicts } = diffProperties(
    existing,
    JSON.parse('{"__proto__":{"type":"keyword"},"constructor":{"type":"long"}}'),
  );
  assert.deepEqual(Object.keys(add), ['constructor']);
  assert.deepEqual(conflicts, [{ field: '__proto__', existing: 'long', wanted: 'keyword' }]);
});
