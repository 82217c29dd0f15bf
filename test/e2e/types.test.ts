// Schema fidelity end to end on the real stack: a table with every column type of docs/types.md
// (test/support/type-matrix.ts) goes MariaDB → Canal → Kafka → ingest → Redis → worker →
// Elasticsearch. Every document must equal its row field by field under the rules of docs/types.md,
// where the expected value is rendered by MariaDB itself (CAST … AS CHAR, HEX, ST_AsGeoJSON) and the
// document is read as text, so numbers are compared by their exact digits, never through a double.
// The index must carry the derived mapping of every column.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type mysql from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { stack } from '../support/stack.ts';
import { TYPE_MATRIX_ZERO_DATES, typeMatrixDdl, typeMatrixInserts } from '../support/type-matrix.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let db: mysql.Connection;
const TABLE = 'type_matrix';

before(async () => {
  pipeline = await createPipeline();
  db = await pipeline.openSource({ charset: 'utf8mb4', dateStrings: true });
  await db.query(`SET time_zone = '+00:00'`);
  await pipeline.start('ingest');
  await pipeline.start('worker');
});

after(async () => {
  await db?.end();
  await pipeline?.close();
});

/** Parses JSON keeping every number as its exact source text ("#<digits>"). */
function parseExact(text: string): unknown {
  return JSON.parse(text, (_key, value, context?: { source?: string }) =>
    typeof value === 'number' && context?.source !== undefined ? `#${context.source}` : value,
  );
}

/** SQL that renders each column as docs/types.md says its document value reads. */
const EXPECTED: Record<string, string> = {
  integer: 'CAST({c} AS CHAR)',
  decimal: 'CAST({c} AS CHAR)',
  double: 'CAST({c} AS CHAR)',
  float: 'CAST(CAST({c} AS DOUBLE) AS CHAR)',
  bit: 'CAST({c} + 0 AS CHAR)',
  year: 'CAST({c} + 0 AS CHAR)',
  text: '{c}',
  json: 'CAST({c} AS CHAR)',
  datetime: "REPLACE(CAST({c} AS CHAR), ' ', 'T')",
  timestamp:
    "IF(CAST({c} AS CHAR) LIKE '0000%', REPLACE(CAST({c} AS CHAR), ' ', 'T'), CONCAT(REPLACE(CAST({c} AS CHAR), ' ', 'T'), 'Z'))",
  binary: 'TO_BASE64({c})',
  geometry: 'ST_AsGeoJSON({c})',
  set: '{c}',
};

const KIND_OF: Record<string, keyof typeof EXPECTED> = {
  id: 'integer',
  i8: 'integer',
  u8: 'integer',
  i16: 'integer',
  u16: 'integer',
  i24: 'integer',
  u24: 'integer',
  i32: 'integer',
  u32: 'integer',
  i64: 'integer',
  u64: 'integer',
  flag: 'integer',
  d0: 'decimal',
  d2: 'decimal',
  d30: 'decimal',
  f: 'float',
  g: 'double',
  b1: 'bit',
  b64: 'bit',
  y: 'year',
  dt: 'text',
  tm: 'text',
  dtm: 'datetime',
  ts: 'timestamp',
  c: 'text',
  vc: 'text',
  vc_bin: 'text',
  vc_latin1: 'text',
  txt: 'text',
  ltxt: 'text',
  bin: 'binary',
  vbin: 'binary',
  blb: 'binary',
  e: 'text',
  st: 'set',
  j: 'json',
  geo: 'geometry',
  pt: 'geometry',
};

/** The document value a column's MariaDB rendering stands for, in parseExact's form. */
function expectedValue(kind: string, rendered: string | null): unknown {
  if (rendered === null) return null;
  switch (kind) {
    case 'integer':
    case 'bit': {
      const n = Number(rendered);
      return Number.isSafeInteger(n) ? `#${rendered}` : rendered;
    }
    case 'year':
      return `#${rendered}`;
    case 'set':
      return rendered === '' ? [] : rendered.split(',');
    case 'geometry':
      return parseExact(rendered);
    default:
      return rendered;
  }
}

function sameNumber(kind: string, actual: unknown, expected: unknown): boolean {
  if (typeof actual !== 'string' || typeof expected !== 'string') return false;
  const a = Number(actual.slice(1));
  const e = Number(expected);
  // FLOAT: the same float32; DOUBLE: the same double (MariaDB may print a different shortest text).
  return kind === 'float' ? Math.fround(a) === Math.fround(e) : a === e;
}

/** Coordinates from ST_AsGeoJSON and the document compared as numbers. */
function numbersOf(value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith('#')) return Number(value.slice(1));
  if (Array.isArray(value)) return value.map(numbersOf);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, numbersOf(v)]));
  return value;
}

test('every column type arrives exact, with an explicit mapping derived from its type', async () => {
  const database = pipeline.database;
  await db.query(typeMatrixDdl(database, TABLE));
  const inserts = typeMatrixInserts(database, TABLE);
  for (const sql of inserts) await db.query(sql);
  await db.query("SET SESSION sql_mode = ''"); // zero dates, where the SQL mode allows them
  inserts.push(`INSERT INTO \`${database}\`.\`${TABLE}\` VALUES ${TYPE_MATRIX_ZERO_DATES}`);
  await db.query(inserts[inserts.length - 1] as string);

  const index = pipeline.mapping.defaultIndex(database, TABLE);
  const docs = await waitFor(
    'every row of the type matrix in its index',
    async () => {
      await pipeline.es.request({ method: 'POST', path: `/${index}/_refresh` }, { ignore: [404] });
      const response = await fetch(`${stack().esUrl}/${index}/_search?size=100`);
      if (!response.ok) return undefined;
      const body = parseExact(await response.text()) as {
        hits: { hits: Array<{ _id: string; _source: Record<string, unknown> }> };
      };
      return body.hits.hits.length === inserts.length ? body.hits.hits : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );

  const columns = Object.keys(KIND_OF);
  const select = columns
    .map((c) => `${(EXPECTED[KIND_OF[c] as string] as string).replaceAll('{c}', `\`${c}\``)} AS \`${c}\``)
    .join(', ');
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    `SELECT ${select} FROM \`${database}\`.\`${TABLE}\` ORDER BY id`,
  );
  assert.equal(rows.length, inserts.length);
  for (const row of rows) {
    const doc = docs.find((d) => d._id === String(row.id));
    assert.ok(doc, `document ${row.id}`);
    for (const column of columns) {
      const kind = KIND_OF[column] as string;
      const actual: unknown = doc._source[column];
      const expected = expectedValue(kind, row[column] === null ? null : String(row[column]));
      const where = `row ${row.id} column ${column} (${kind})`;
      if ((kind === 'float' || kind === 'double') && expected !== null) {
        assert.ok(sameNumber(kind, actual, expected), `${where}: ${String(actual)} vs ${String(expected)}`);
      } else if (kind === 'geometry') {
        assert.deepEqual(numbersOf(actual), numbersOf(expected), where);
      } else {
        assert.deepEqual(actual, expected, where);
      }
    }
  }

  const mappingResponse = await pipeline.es.request<
    Record<
      string,
      { mappings: { dynamic?: string | boolean; properties: Record<string, { type?: string }> } }
    >
  >({ method: 'GET', path: `/${index}/_mapping` });
  const mappings = Object.values(mappingResponse.body)[0]?.mappings;
  assert.ok(mappings);
  assert.equal(String(mappings.dynamic), 'false');
  const typeOf = (field: string) => mappings.properties[field]?.type;
  for (const column of columns) assert.ok(typeOf(column), `column ${column} has an explicit mapping`);
  // A guessed mapping would have made these long/float from their first values and refused the next.
  assert.match(String(typeOf('u64')), /^(unsigned_long|double)$/);
  assert.match(String(typeOf('b64')), /^(unsigned_long|double)$/);
  assert.equal(typeOf('g'), 'double');
  assert.equal(typeOf('d30'), 'double');
  assert.equal(typeOf('f'), 'float');
  assert.equal(typeOf('ts'), 'date');
  assert.equal(typeOf('vc'), 'text');
  assert.equal(typeOf('pt'), 'geo_point');

  // The checker agrees: waitConverged fails unless it finds every row exact in the index.
  const [diff] = await pipeline.waitConverged([TABLE]);
  assert.equal(diff?.rows, inserts.length);
});

test('non-ASCII text in a latin1 column, which Canal cannot decode in UTF-8, is named in one dead letter', async () => {
  const database = pipeline.database;
  await db.query(
    `CREATE TABLE \`${database}\`.damaged (id INT PRIMARY KEY, name VARCHAR(20) CHARACTER SET latin1, note VARCHAR(20))`,
  );
  await db.query(`INSERT INTO \`${database}\`.damaged VALUES (1, 'Café', 'ok'), (2, 'crème', 'ok')`);
  await db.query(`INSERT INTO \`${database}\`.damaged VALUES (3, 'naïve', 'ok')`);
  const undecodable = () =>
    pipeline.queryMeta('SELECT reason, table_name, detail FROM dead_letter WHERE reason = ?', [
      'text_undecodable',
    ]);
  const letters = await waitFor('the dead letter of the undecodable column', async () => {
    const rows = await undecodable();
    return rows.length > 0 ? rows : undefined;
  });
  await new Promise((resolve) => setTimeout(resolve, 2000));
  assert.equal((await undecodable()).length, 1, 'one dead letter for the column, not one per row');
  assert.equal(letters[0]?.table_name, `${database}.damaged`);
  assert.match(String(letters[0]?.detail), /column\(s\) name of/);
});

test('a latin1 table, published by a Canal destination of its character set, arrives exact', async () => {
  // The local stack's Canal publishes tables named *_latin1 through a destination whose
  // connectionCharset is windows-1252 (MySQL's latin1): docs/types.md, "Character sets".
  const database = pipeline.database;
  await db.query(
    `CREATE TABLE \`${database}\`.words_latin1 (id INT PRIMARY KEY, c CHAR(12), v VARCHAR(60), t TEXT,
       e ENUM('é', 'ü', 'plain'), s SET('à', 'ß', 'x')) CHARACTER SET latin1`,
  );
  const rows: Array<[number, string, string, string, string, string]> = [
    [1, 'Àé', 'Café crème ÀÉÎÕÜ àéîõü ß', 'naïve façade ÿ', 'ü', 'à,ß'],
    [2, '€ œ Š', 'cp1252: € ‚ ƒ „ … † ‡ ˆ ‰ Š ‹ Œ Ž', '“quotes” – — ™', 'é', ''],
  ];
  for (const row of rows) {
    await db.query(`INSERT INTO \`${database}\`.words_latin1 VALUES (?, ?, ?, ?, ?, ?)`, row);
  }
  const [diff] = await pipeline.waitConverged(['words_latin1']);
  assert.deepEqual([diff?.rows, diff?.docs], [2, 2]);
  const index = pipeline.mapping.defaultIndex(database, 'words_latin1');
  for (const [id, c, v, t, e, set] of rows) {
    const doc = await pipeline.es.request<{ _source: Record<string, unknown> }>({
      method: 'GET',
      path: `/${index}/_doc/${id}`,
    });
    assert.deepEqual(doc.body._source, { id, c, v, t, e, s: set === '' ? [] : set.split(',') });
  }
  const letters = await pipeline.queryMeta('SELECT reason FROM dead_letter WHERE table_name = ?', [
    `${database}.words_latin1`,
  ]);
  assert.deepEqual(letters, [], 'nothing to report');
});
