// Throw-away databases on the stack's MariaDB for tests.
import { migrate, openPool, type Pool } from '@sluice/backup';
import mysql from 'mysql2/promise';
import { stack } from './stack.ts';
import { uniqueName } from './wait.ts';

/** A MySQL URL without its database: the server, with the same credentials. */
export function serverUrl(url: string): string {
  const server = new URL(url);
  server.pathname = '/';
  return server.toString();
}

/** Runs one statement on the metadata server, outside any database. */
async function onMetaServer(sql: string): Promise<void> {
  const admin = await mysql.createConnection(serverUrl(stack().metaMysqlUrl));
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * Creates a fresh database and returns its URL (same credentials as the metadata URL). Names start
 * with the stack's metadata database name, which Canal does not publish.
 */
export async function createTestDatabase(
  prefix = 'sluice_meta_test',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  await onMetaServer(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  const url = new URL(stack().metaMysqlUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => onMetaServer(`DROP DATABASE IF EXISTS \`${name}\``),
  };
}

export interface MetaDatabase {
  url: string;
  /** Sluice's own pool on it (@sluice/backup's openPool). */
  pool: Pool;
  /** Ends the pool and drops the database. */
  close(): Promise<void>;
}

/** A fresh metadata database with Sluice's migrations applied, as the services would find it. */
export async function openMetaDatabase(): Promise<MetaDatabase> {
  const db = await createTestDatabase();
  const pool = await openPool(db.url).catch(async (error: unknown) => {
    await db.drop();
    throw error;
  });
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    await db.drop();
    throw error;
  }
  return {
    url: db.url,
    pool,
    close: async () => {
      await pool.end();
      await db.drop();
    },
  };
}

/**
 * Runs `statement` again and again on its own connection to the source MySQL (its changes go through
 * the binlog) until stopped; `stop()` resolves with how many ran. `n` counts from 0.
 */
export function sourceLoop(statement: (conn: mysql.Connection, n: number) => Promise<unknown>): {
  stop(): Promise<number>;
} {
  let running = true;
  const done = (async () => {
    const conn = await mysql.createConnection({ uri: stack().sourceMysqlUrl });
    let n = 0;
    try {
      while (running) await statement(conn, n++);
    } finally {
      await conn.end();
    }
    return n;
  })();
  return {
    stop: async () => {
      running = false;
      return done;
    },
  };
}
