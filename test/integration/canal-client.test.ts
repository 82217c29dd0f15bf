// Sluice's Canal client against the stack's TCP-mode Canal (canal-tcp): authentication is checked,
// a batch got and not acknowledged is served again to the next session (rollback on subscribe), an
// acknowledged one is not, and an acknowledgement Canal refuses surfaces as an error of the next
// request. Each test's rows live in a database of its own, which the subscription's filter names
// before the first statement (a filter only applies to what Canal parses after it is set).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type CanalClientOptions, CanalServerError, CanalSession, convertEntry } from '@sluice/canal';
import mysql, { type Connection } from 'mysql2/promise';
import { stack } from '../support/stack.ts';
import { uniqueName } from '../support/wait.ts';

const database = uniqueName('canal_client').toLowerCase();
let db: Connection;
const options = (): CanalClientOptions => ({
  address: stack().canalTcpAddress,
  destination: stack().canalTcpDestination,
  username: 'canal',
  password: 'canal',
  filter: `${database}\\..*`,
  getTimeoutMs: 300,
});

/** Every row entry of this test's database until `count` of them came, with the batch ids. */
async function collect(
  session: CanalSession,
  count: number,
): Promise<{ ids: number[]; offsets: number[]; rows: string[] }> {
  const ids: number[] = [];
  const offsets: number[] = [];
  const rows: string[] = [];
  const deadline = Date.now() + 30_000;
  while (rows.length < count) {
    assert.ok(Date.now() < deadline, `only ${rows.length} of ${count} rows came`);
    const batch = await session.get();
    if (batch.id === -1) continue;
    ids.push(batch.id);
    for (const bytes of batch.entries) {
      const entry = convertEntry(bytes, batch.id, 0);
      if (entry.message?.database !== database || !entry.message.data) continue;
      offsets.push(entry.logfileOffset);
      for (const row of entry.message.data) rows.push(`${entry.message.type}:${row.id}`);
    }
  }
  return { ids, offsets, rows };
}

async function drain(session: CanalSession): Promise<void> {
  for (;;) {
    const batch = await session.get();
    if (batch.id === -1) return;
    session.ack(batch.id);
  }
}

before(async () => {
  // subscribe (and so set the filter) before the database exists
  const session = await CanalSession.open(options());
  await drain(session);
  session.close();
  db = await mysql.createConnection(stack().sourceMysqlUrl);
  await db.query(`CREATE DATABASE ${database}`);
  await db.query(`CREATE TABLE ${database}.t (id INT PRIMARY KEY, v VARCHAR(20))`);
});

after(async () => {
  await db?.query(`DROP DATABASE IF EXISTS ${database}`);
  await db?.end();
});

test('a wrong password is refused at authentication', async () => {
  await assert.rejects(
    CanalSession.open({ ...options(), password: 'not-canal' }),
    (error: unknown) => error instanceof CanalServerError && /authentication/.test(error.message),
  );
});

test('a batch not acknowledged is served again to the next session; an acknowledged one is not', async () => {
  const first = await CanalSession.open(options());
  await drain(first);
  await db.query(`INSERT INTO ${database}.t VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
  const got = await collect(first, 3);
  assert.deepEqual(got.rows, ['INSERT:1', 'INSERT:2', 'INSERT:3']);
  first.close(); // as a relay killed before its acknowledgement

  const second = await CanalSession.open(options());
  const again = await collect(second, 3);
  assert.deepEqual(again.rows, got.rows, 'the same rows again');
  assert.deepEqual(again.offsets, got.offsets, 'from the same binlog positions');
  for (const id of again.ids) second.ack(id);
  await db.query(`UPDATE ${database}.t SET v = 'z' WHERE id = 2`);
  const next = await collect(second, 1);
  assert.deepEqual(next.rows, ['UPDATE:2'], 'only the new change after the acknowledgement');
  for (const id of next.ids) second.ack(id);
  second.close();

  const third = await CanalSession.open(options());
  const batch = await third.get();
  assert.equal(batch.id, -1, 'nothing is served again once acknowledged');
  third.close();
});

test('an acknowledgement of a batch Canal never handed out fails the next request', async () => {
  const session = await CanalSession.open(options());
  await drain(session);
  session.ack(987_654_321);
  await assert.rejects(session.get(), (error: unknown) => {
    assert.ok(error instanceof CanalServerError, String(error));
    assert.match(error.message, /987654321/);
    return true;
  });
  session.close();
});
