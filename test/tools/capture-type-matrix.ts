// Captures the Canal flat messages of the type-matrix table (test/support/type-matrix.ts) into
// test/fixtures/canal/type-matrix.json, with the rows as MariaDB itself renders them (run by hand
// after a Canal or MariaDB upgrade:  node test/tools/capture-type-matrix.ts).
import { writeFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { CanalTap } from '../support/canal-tap.ts';
import { repoRoot, stack } from '../support/stack.ts';
import { typeMatrixDdl, typeMatrixInserts } from '../support/type-matrix.ts';

const DB = 'sluice_fixtures';
const TABLE = 'type_matrix';
const url = new URL(stack().sourceMysqlUrl);
const db = await mysql.createConnection({
  host: url.hostname,
  port: Number(url.port),
  user: decodeURIComponent(url.username),
  password: decodeURIComponent(url.password),
  multipleStatements: false,
});
await db.query(`CREATE DATABASE IF NOT EXISTS ${DB}`);
await db.query(`DROP TABLE IF EXISTS ${DB}.${TABLE}`);
const tap = await CanalTap.open();
try {
  await db.query(typeMatrixDdl(DB, TABLE));
  const inserts = typeMatrixInserts(DB, TABLE);
  for (const sql of inserts) await db.query(sql);
  const found = await tap.waitFor(
    'the type-matrix inserts',
    (m) => m.json.table === TABLE && m.json.type === 'INSERT',
    inserts.length,
  );
  const messages = found.map((m) => JSON.parse(m.raw) as unknown);
  writeFileSync(`${repoRoot}test/fixtures/canal/type-matrix.json`, `${JSON.stringify(messages, null, 1)}\n`);
  console.log(`saved ${messages.length} messages`);
} finally {
  await tap.close();
  await db.end();
}
