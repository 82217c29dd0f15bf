// Captures what the local stack's two Canals say about the same statements into
// test/fixtures/canal-tcp/ (run by hand after a Canal or MariaDB upgrade:
//   node test/tools/capture-canal-tcp.ts
// ). For each scenario its SQL runs on the stack's MariaDB; saved are the Messages packets the
// TCP-mode Canal served for it, byte for byte (base64, without the frame's length), and the flat
// messages the Kafka-mode Canal published for the same rows. The unit tests check that converting
// the first gives the second, and what Sluice's decoder makes of them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { CanalSession, convertEntry, decodePacket, PacketType } from '@sluice/canal';
import mysql from 'mysql2/promise';
import { CanalTap, type TappedMessage } from '../support/canal-tap.ts';
import { repoRoot, stack } from '../support/stack.ts';

const DB = 'sluice_tcp_fixtures';
const out = `${repoRoot}test/fixtures/canal-tcp`;

interface Scenario {
  name: string;
  sql: string[];
  /** The row or DDL messages the scenario makes, as table/type. */
  expect: Array<[table: string, type: string]>;
}

const scenarios: Scenario[] = [
  {
    name: 'ddl-create',
    sql: [
      `CREATE TABLE ${DB}.kinds (
        id BIGINT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(12,2) NULL,
        ratio DOUBLE NULL, flags BIT(3) NULL, tier ENUM('free','pro','enterprise') NULL,
        tags SET('a','b','c') NULL, born DATE NULL, at DATETIME(3) NULL, seen TIMESTAMP(3) NULL, meta JSON NULL,
        raw VARBINARY(16) NULL, note TEXT NULL, big BIGINT UNSIGNED NULL)`,
    ],
    expect: [['kinds', 'CREATE']],
  },
  {
    name: 'insert-multi-row',
    sql: [
      `INSERT INTO ${DB}.kinds VALUES
        (1, 'plain', 12.50, 0.25, b'101', 'pro', 'a,c', '2024-02-29', '2024-02-29 13:14:15.678',
         '2024-03-01 00:00:01.500', '{"k":[1,2],"n":null}', X'00FF10', 'line1\\nline2 "quoted" ü', 18446744073709551615),
        (2, 'nulls', 1.00, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
        (3, 'ключ:with|separators {x}', 0.10, -1e10, b'000', 'free', '', '1999-12-31', '1999-12-31 23:59:59.000',
         NULL, '[]', X'', '', 42)`,
    ],
    expect: [['kinds', 'INSERT']],
  },
  {
    name: 'update-multi-row',
    sql: [`UPDATE ${DB}.kinds SET price = price + 1, note = 'updated' WHERE id IN (1, 2)`],
    expect: [['kinds', 'UPDATE']],
  },
  {
    name: 'update-pk-change',
    sql: [`UPDATE ${DB}.kinds SET id = 30 WHERE id = 3`],
    expect: [['kinds', 'UPDATE']],
  },
  { name: 'delete', sql: [`DELETE FROM ${DB}.kinds WHERE id = 2`], expect: [['kinds', 'DELETE']] },
  {
    name: 'ddl-alter',
    sql: [`ALTER TABLE ${DB}.kinds ADD COLUMN color VARCHAR(10) NOT NULL DEFAULT 'red' AFTER name`],
    expect: [['kinds', 'ALTER']],
  },
  {
    name: 'transaction',
    sql: [
      `CREATE TABLE ${DB}.lines (order_id BIGINT NOT NULL, sku VARCHAR(64) NOT NULL, qty INT NOT NULL, PRIMARY KEY (order_id, sku))`,
      'BEGIN',
      `INSERT INTO ${DB}.lines VALUES (7, 'A:1', 1), (7, 'B|2 ü', 2)`,
      `UPDATE ${DB}.kinds SET name = 'in a transaction' WHERE id = 1`,
      `DELETE FROM ${DB}.lines WHERE sku = 'A:1'`,
      'COMMIT',
    ],
    expect: [
      ['lines', 'CREATE'],
      ['lines', 'INSERT'],
      ['kinds', 'UPDATE'],
      ['lines', 'DELETE'],
    ],
  },
];

const s = stack();
const db = await mysql.createConnection({ uri: s.sourceMysqlUrl, multipleStatements: false });
const session = await CanalSession.open({
  address: s.canalTcpAddress,
  destination: s.canalTcpDestination,
  username: 'canal',
  password: 'canal',
  // only this database from now on (the filter applies to what Canal parses after the subscription)
  filter: `${DB}\\..*`,
  getTimeoutMs: 300,
});
// skip whatever the destination still held for this client
for (;;) {
  const batch = await session.get();
  if (batch.id === -1) break;
  session.ack(batch.id);
}
await db.query(`DROP DATABASE IF EXISTS ${DB}`);
await db.query(`CREATE DATABASE ${DB}`);
const tap = await CanalTap.open();
mkdirSync(out, { recursive: true });
try {
  for (;;) {
    const batch = await session.get();
    if (batch.id === -1) break;
    session.ack(batch.id);
  }
  for (const scenario of scenarios) {
    const before = tap.messages.length;
    for (const sql of scenario.sql) await db.query(sql);
    const packets: string[] = [];
    const seen: string[] = [];
    const wanted = scenario.expect.map(([table, type]) => `${table}/${type}`);
    const deadline = Date.now() + 30_000;
    const last: { packet?: Buffer } = {};
    const capture = (direction: 'in' | 'out', packet: Buffer) => {
      if (direction === 'in') last.packet = packet;
    };
    // the packets of every batch until each expected entry came (plus one more get for the
    // transaction's end, which may come in a batch of its own)
    let extra = 1;
    while (extra >= 0) {
      if (Date.now() > deadline)
        throw new Error(`${scenario.name}: saw ${seen.join(', ')}, want ${wanted.join(', ')}`);
      delete last.packet;
      session.onPacket = capture;
      const batch = await session.get();
      const captured = last.packet as Buffer | undefined;
      if (batch.id !== -1 && captured) {
        const packet = decodePacket(captured);
        if (packet.type !== PacketType.MESSAGES) throw new Error('not a Messages packet');
        packets.push(captured.toString('base64'));
        for (const entry of batch.entries) {
          const converted = convertEntry(entry, batch.id, 0);
          if (converted.message) seen.push(`${converted.message.table}/${converted.message.type}`);
        }
        session.ack(batch.id);
      }
      if (wanted.every((w) => seen.includes(w))) extra--;
    }
    const matching = (m: TappedMessage) => tap.messages.indexOf(m) >= before && m.json.database === DB;
    const kafka = await tap.waitFor(scenario.name, matching, scenario.expect.length);
    writeFileSync(
      `${out}/${scenario.name}.json`,
      `${JSON.stringify({ scenario: scenario.name, sql: scenario.sql, packets, kafka: kafka.map((m) => m.json) }, null, 2)}\n`,
    );
    process.stdout.write(`captured ${scenario.name}: ${packets.length} packet(s), ${seen.join(', ')}\n`);
  }
} finally {
  session.close();
  await tap.close();
  await db.query(`DROP DATABASE IF EXISTS ${DB}`);
  await db.end();
}
