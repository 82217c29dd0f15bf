// Throw-away databases on the stack's MariaDB for tests.
import mysql from 'mysql2/promise';
import { stack } from './stack.ts';
import { uniqueName } from './wait.ts';

/**
 * Creates a fresh database and returns its URL (same credentials as the metadata URL). Names start
 * with the stack's metadata database name, which Canal does not publish.
 */
export async function createTestDatabase(
  prefix = 'sluice_meta_test',
): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = new URL(stack().metaMysqlUrl);
  const name = uniqueName(prefix);
  const admin = await mysql.createConnection({
    host: base.hostname,
    port: Number(base.port),
    user: decodeURIComponent(base.username),
    password: decodeURIComponent(base.password),
  });
  await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const conn = await mysql.createConnection({
        host: base.hostname,
        port: Number(base.port),
        user: decodeURIComponent(base.username),
        password: decodeURIComponent(base.password),
      });
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
    },
  };
}
