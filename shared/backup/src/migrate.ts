// Versioned, idempotent migrations: migrations/NNN_name.sql applied in order, each once, recorded in
// schema_migrations with a checksum. Concurrent starters serialise on a MySQL named lock; an applied
// migration whose file changed afterwards stops the start.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

/** Statements of a migration file: each ends with ";" at the end of a line; "--" lines are comments. */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: string[] = [];
  for (const line of sql.split('\n')) {
    if (/^\s*--/.test(line) || (current.length === 0 && line.trim() === '')) continue;
    current.push(line);
    if (/;\s*$/.test(line)) {
      statements.push(current.join('\n').replace(/;\s*$/, ''));
      current = [];
    }
  }
  if (current.join('').trim() !== '') throw new Error('a migration ends without ";"');
  return statements;
}

export function loadMigrations(dir: URL = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{3}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(new URL(file, dir), 'utf8');
      return {
        version: Number(file.slice(0, 3)),
        name: file.replace(/\.sql$/, ''),
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
      };
    });
}

export interface MigrationResult {
  applied: string[];
  current: number;
}

export async function migrate(
  pool: Pool,
  migrations: Migration[] = loadMigrations(),
): Promise<MigrationResult> {
  // One connection for the whole run: the named lock belongs to it.
  const connection = await pool.getConnection();
  try {
    const [lock] = await connection.query<RowDataPacket[]>("SELECT GET_LOCK('sluice_migrations', 60) AS got");
    if (lock[0]?.got !== 1) throw new Error('another process holds the migration lock for more than 60 s');
    await connection.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INT NOT NULL PRIMARY KEY,
      name VARCHAR(128) NOT NULL,
      checksum CHAR(64) NOT NULL,
      applied_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
    ) ENGINE = InnoDB`);
    const [rows] = await connection.query<RowDataPacket[]>(
      'SELECT version, name, checksum FROM schema_migrations',
    );
    const done = new Map(rows.map((r) => [Number(r.version), r]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const seen = done.get(migration.version);
      if (seen) {
        if (seen.checksum !== migration.checksum) {
          throw new Error(
            `migration ${migration.name} was applied with different contents (checksum ${seen.checksum.slice(0, 12)}…); add a new migration instead of editing one`,
          );
        }
        continue;
      }
      for (const statement of splitStatements(migration.sql)) await connection.query(statement);
      await connection.query('INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        migration.checksum,
      ]);
      applied.push(migration.name);
    }
    const current = Math.max(0, ...migrations.map((m) => m.version));
    return { applied, current };
  } finally {
    await connection.query("SELECT RELEASE_LOCK('sluice_migrations')").catch(() => undefined);
    connection.release();
  }
}
