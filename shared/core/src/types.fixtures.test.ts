// The typing rules of docs/types.md on the real Canal messages of the type-matrix table
// (test/fixtures/canal/type-matrix.json, made by test/tools/capture-type-matrix.ts from
// test/support/type-matrix.ts): the expected documents are written out by hand from the rules.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseFlatMessage } from './canal.ts';
import type { Row } from './change.ts';
import { deriveIndexMappings } from './index-mapping.ts';
import { Mapping } from './mapping.ts';

const messages = JSON.parse(
  readFileSync(new URL('../../../test/fixtures/canal/type-matrix.json', import.meta.url), 'utf8'),
) as Array<Record<string, unknown>>;

function documentOf(id: number, timeZone = 'UTC'): Row {
  const message = messages.find((m) => (m.data as Array<{ id: string }>)[0]?.id === String(id));
  assert.ok(message, `fixture row ${id}`);
  const outcome = parseFlatMessage(
    JSON.stringify(message),
    { position: { topic: 't', partition: 0, offset: String(id) }, generation: 0, maxRowBytes: 1 << 20 },
    timeZone,
  );
  assert.equal(outcome.kind, 'rows');
  return { ...(outcome.kind === 'rows' ? outcome.records[0]?.row : {}) };
}

const TEXT = '中文 😀 é̀ naïve';

test('maximums: exact integers past 2^53 as text, decimals at their scale, float32 shortest', () => {
  const doc = documentOf(2);
  assert.deepEqual(
    {
      i8: doc.i8,
      u8: doc.u8,
      u32: doc.u32,
      i64: doc.i64,
      u64: doc.u64,
      flag: doc.flag,
      d0: doc.d0,
      d2: doc.d2,
      d30: doc.d30,
      f: doc.f,
      g: doc.g,
      b1: doc.b1,
      b64: doc.b64,
      y: doc.y,
    },
    {
      i8: 127,
      u8: 255,
      u32: 4294967295,
      i64: '9223372036854775807',
      u64: '18446744073709551615',
      flag: 1,
      d0: '9999999999',
      d2: '9999999999.99',
      d30: '99999999999999999999999999999999999.999999999999999999999999999999',
      f: 3.40282e38,
      g: 1.7976931348623157e308,
      b1: 1,
      b64: '18446744073709551615',
      y: 2155,
    },
  );
  assert.equal(doc.dt, '9999-12-31');
  assert.equal(doc.tm, '838:59:59.000000');
  assert.equal(doc.dtm, '9999-12-31T23:59:59.999999');
  assert.equal(doc.ts, '2038-01-19T03:14:07.999Z');
  assert.equal(doc.bin, Buffer.from('FFFFFFFF', 'hex').toString('base64'));
  assert.equal(doc.vbin, Buffer.from('00FF00FF00FF', 'hex').toString('base64'));
  assert.equal(doc.blb, Buffer.from('DEADBEEF00', 'hex').toString('base64'));
  assert.equal(doc.e, 'large');
  assert.deepEqual(doc.st, ['red', 'green', 'blue']);
  assert.equal(doc.j, '{"a":[1,2.5,"x"],"n":null,"t":true}');
  assert.deepEqual(doc.geo, {
    type: 'Polygon',
    coordinates: [
      [
        [0, 0],
        [10, 0],
        [10, 10],
        [0, 10],
        [0, 0],
      ],
    ],
  });
  assert.deepEqual(doc.pt, { type: 'Point', coordinates: [180, 90] });
});

test('minimums: negative ends, TIME below zero, BINARY(n) padding Canal dropped, DECIMAL trimmed zeros', () => {
  const doc = documentOf(1);
  assert.equal(doc.i64, '-9223372036854775808');
  assert.equal(doc.d2, '-9999999999.99');
  assert.equal(doc.f, -3.40282e38);
  assert.equal(doc.tm, '-838:59:59.000000');
  assert.equal(doc.dtm, '1000-01-01T00:00:00.000000');
  assert.equal(doc.ts, '1970-01-01T00:00:01.000Z');
  assert.equal(doc.bin, 'AAAAAA==', 'BINARY(4) X00000000 arrives as "" and is padded back');
  assert.equal(doc.vbin, '');
  assert.deepEqual(doc.st, []);
  assert.deepEqual(doc.pt, { type: 'Point', coordinates: [-180, -90] });
});

test('non-ASCII text arrives exact in every text-like and JSON column', () => {
  const doc = documentOf(4);
  assert.equal(doc.c, '中文');
  for (const column of ['vc', 'vc_bin', 'txt', 'ltxt']) assert.equal(doc[column], TEXT, column);
  assert.equal(doc.j, '{"z":"中","emoji":"😀","mark":"é̀"}', 'JSON arrives as ISO-8859-1 bytes');
  assert.equal(doc.e, 'ü');
  assert.equal(doc.d2, '1.00', 'Canal sends "1.0" for DECIMAL(12,2) 1.00');
  assert.equal(doc.i64, '9007199254740993');
  assert.equal(doc.tm, '25:00:00.500000');
  assert.equal(doc.bin, Buffer.from('E4B8AD00', 'hex').toString('base64'));
  assert.equal(doc.f, 0.1);
  assert.deepEqual(doc.geo, {
    type: 'LineString',
    coordinates: [
      [0, 0],
      [1, 1],
      [2, 1.5],
    ],
  });
});

test('a denormal FLOAT, a huge DOUBLE, text that looks like numbers', () => {
  const doc = documentOf(5);
  assert.equal(doc.f, 1e-45, 'the shortest text of the float32 nearest 1.5e-45');
  assert.equal(doc.g, -1.5e300);
  assert.equal(doc.c, '123');
  assert.equal(doc.vc, '0042');
  assert.equal(doc.d30, '-0.000000000000000000000000000001');
  assert.equal(doc.geo, null);
  assert.deepEqual(doc.st, ['red', 'blue']);
});

test('NULL in every column stays null', () => {
  const doc = documentOf(3);
  for (const [column, value] of Object.entries(doc)) if (column !== 'id') assert.equal(value, null, column);
});

test('TIMESTAMP is rendered in Canal time zone and indexed in UTC', () => {
  assert.equal(documentOf(4, 'UTC').ts, '2024-03-01T12:00:00.250Z');
  assert.equal(documentOf(4, 'Asia/Shanghai').ts, '2024-03-01T04:00:00.250Z');
  assert.equal(documentOf(4, 'America/New_York').ts, '2024-03-01T17:00:00.250Z');
});

test('the derived mapping names every column with the type of docs/types.md', () => {
  const message = messages[0] as { mysqlType: Record<string, string> };
  const route = new Mapping({}).route('db', 'type_matrix');
  assert.equal(route.action, 'index');
  if (route.action !== 'index') return;
  const caps = { unsignedLong: false, geoShape: false };
  const mappings = deriveIndexMappings(message.mysqlType, route.mapping, caps);
  const types = Object.fromEntries(
    Object.entries(mappings.properties as Record<string, { type: string }>).map(([k, v]) => [k, v.type]),
  );
  assert.equal(mappings.dynamic, false);
  assert.deepEqual(types, {
    id: 'integer',
    i8: 'byte',
    u8: 'short',
    i16: 'short',
    u16: 'integer',
    i24: 'integer',
    u24: 'integer',
    i32: 'integer',
    u32: 'long',
    i64: 'long',
    u64: 'double',
    flag: 'byte',
    d0: 'double',
    d2: 'double',
    d30: 'double',
    f: 'float',
    g: 'double',
    b1: 'byte',
    b64: 'double',
    y: 'short',
    dt: 'date',
    tm: 'keyword',
    dtm: 'date',
    ts: 'date',
    c: 'text',
    vc: 'text',
    vc_bin: 'text',
    vc_latin1: 'text',
    txt: 'text',
    ltxt: 'text',
    bin: 'binary',
    vbin: 'binary',
    blb: 'binary',
    e: 'keyword',
    st: 'keyword',
    j: 'text',
    geo: 'object',
    pt: 'geo_point',
  });
  const full = deriveIndexMappings(message.mysqlType, route.mapping, { unsignedLong: true, geoShape: true });
  const props = full.properties as Record<string, { type: string }>;
  assert.equal(props.u64?.type, 'unsigned_long');
  assert.equal(props.b64?.type, 'unsigned_long');
  assert.equal(props.geo?.type, 'geo_shape');
});

test('the mapping file renames, excludes, parses JSON, chooses string modes and overrides fields', () => {
  const mapping = new Mapping({
    tables: {
      'db.t': {
        columns: { exclude: ['blb'], rename: { vc: 'title' }, json: ['j'], strings: { c: 'keyword' } },
        mappings: { properties: { txt: { type: 'keyword' } }, _source: { enabled: true } },
      },
    },
  });
  const route = mapping.route('db', 't');
  if (route.action !== 'index') throw new Error('expected an index route');
  const mappings = deriveIndexMappings(
    { id: 'INT', blb: 'BLOB', vc: 'VARCHAR(9)', j: 'JSON', c: 'CHAR(2)', txt: 'TEXT' },
    route.mapping,
    { unsignedLong: true, geoShape: true },
  );
  assert.deepEqual(mappings, {
    dynamic: false,
    _source: { enabled: true },
    properties: {
      id: { type: 'integer' },
      title: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } },
      j: { type: 'flattened' },
      c: { type: 'keyword' },
      txt: { type: 'keyword' },
    },
  });
});
