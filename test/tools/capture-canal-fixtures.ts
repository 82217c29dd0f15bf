// Captures real Canal flat messages from the local stack into test/fixtures/canal/ (run by hand after
// a Canal or MariaDB upgrade:  node test/tools/capture-canal-fixtures.ts). Each scenario's SQL runs
// against the stack's MariaDB; the first message of the expected table and type that follows is
// saved byte for byte.
import { writeFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { CanalTap, type TappedMessage } from '../support/canal-tap.ts';
import { repoRoot, stack } from '../support/stack.ts';

const DB = 'sluice_fixtures';
const out = `${repoRoot}test/fixtures/canal`;

interface Scenario {
  name: string;
  sql: string[];
  table: string;
  type: string;
}

const scenarios: Scenario[] = [
  {
    name: 'ddl-create',
    sql: [
      `CREATE TABLE ${DB}.kinds (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(12,2) NULL,
        amount DECIMAL(20,6) NULL, ratio DOUBLE NULL, flags BIT(3) NULL, tier ENUM('free','pro','enterprise') NULL,
        tags SET('a','b','c') NULL, born DATE NULL, at DATETIME(3) NULL, seen TIMESTAMP(3) NULL, meta JSON NULL,
        raw VARBINARY(16) NULL, note TEXT NULL, big BIGINT UNSIGNED NULL)`,
    ],
    table: 'kinds',
    type: 'CREATE',
  },
  {
    name: 'insert-multi-row',
    sql: [
      `INSERT INTO ${DB}.kinds VALUES
        (1, 'plain', 12.50, 1234567890.123456, 0.25, b'101', 'pro', 'a,c', '2024-02-29', '2024-02-29 13:14:15.678',
         '2024-03-01 00:00:01.500', '{"k":[1,2],"n":null}', X'00FF10', 'line1\\nline2 "quoted" ü', 18446744073709551615),
        (2, 'nulls', 1.00, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, 'ключ:with|separators {x}', 0.10, -0.5, -1e10, b'000', 'free', '', '1999-12-31', '1999-12-31 23:59:59.000',
         NULL, '[]', X'', '', 42)`,
    ],
    table: 'kinds',
    type: 'INSERT',
  },
  {
    name: 'update-multi-row',
    sql: [`UPDATE ${DB}.kinds SET price = price + 1, note = 'updated' WHERE id IN (1, 2)`],
    table: 'kinds',
    type: 'UPDATE',
  },
  {
    name: 'update-pk-change',
    sql: [`UPDATE ${DB}.kinds SET id = 30 WHERE id = 3`],
    table: 'kinds',
    type: 'UPDATE',
  },
  { name: 'delete', sql: [`DELETE FROM ${DB}.kinds WHERE id = 2`], table: 'kinds', type: 'DELETE' },
  {
    name: 'ddl-alter',
    sql: [`ALTER TABLE ${DB}.kinds ADD COLUMN color VARCHAR(10) NOT NULL DEFAULT 'red' AFTER name`],
    table: 'kinds',
    type: 'ALTER',
  },
  {
    name: 'composite-insert',
    sql: [
      `CREATE TABLE ${DB}.lines (order_id BIGINT NOT NULL, sku VARCHAR(64) NOT NULL, qty INT NOT NULL, PRIMARY KEY (order_id, sku))`,
      `INSERT INTO ${DB}.lines VALUES (7, 'A:1', 1), (7, 'B|2 ü', 2), (8, '', 3)`,
    ],
    table: 'lines',
    type: 'INSERT',
  },
  {
    name: 'composite-update',
    sql: [`UPDATE ${DB}.lines SET qty = qty * 10 WHERE order_id = 7`],
    table: 'lines',
    type: 'UPDATE',
  },
  {
    name: 'composite-pk-change',
    sql: [`UPDATE ${DB}.lines SET sku = 'A:9' WHERE order_id = 7 AND sku = 'A:1'`],
    table: 'lines',
    type: 'UPDATE',
  },
  {
    name: 'composite-delete',
    sql: [`DELETE FROM ${DB}.lines WHERE order_id = 8`],
    table: 'lines',
    type: 'DELETE',
  },
  { name: 'truncate', sql: [`TRUNCATE TABLE ${DB}.lines`], table: 'lines', type: 'TRUNCATE' },
];

const db = await mysql.createConnection({ uri: stack().sourceMysqlUrl, multipleStatements: false });
await db.query(`DROP DATABASE IF EXISTS ${DB}`);
await db.query(`CREATE DATABASE ${DB}`);
const tap = await CanalTap.open();
try {
  for (const scenario of scenarios) {
    const before = tap.messages.length;
    for (const sql of scenario.sql) await db.query(sql);
    const matching = (m: TappedMessage) =>
      tap.messages.indexOf(m) >= before &&
      m.json.database === DB &&
      m.json.table === scenario.table &&
      m.json.type === scenario.type;
    const [message] = await tap.waitFor(scenario.name, matching);
    if (!message) throw new Error(`no message for ${scenario.name}`);
    writeFileSync(`${out}/${scenario.name}.json`, `${message.raw}\n`);
    process.stdout.write(
      `captured ${scenario.name} (partition ${message.partition}, offset ${message.offset})\n`,
    );
  }
} finally {
  await tap.close();
  await db.query(`DROP DATABASE IF EXISTS ${DB}`);
  await db.end();
}
