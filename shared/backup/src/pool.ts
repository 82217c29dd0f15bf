// The MySQL connection pool of the metadata database.
import { DependencyError } from '@sluice/core';
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';

export type { Pool } from 'mysql2/promise';

/** "mysql://user:pass@host:port/db" → pool options; versions (BIGINT) come back as numbers. */
export function poolOptions(url: string, extra: Partial<PoolOptions> = {}): PoolOptions {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database)
    throw new Error('the metadata MySQL URL must name a database (mysql://user:pass@host:3306/db)');
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
    connectionLimit: 10,
    waitForConnections: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    timezone: 'Z',
    charset: 'utf8mb4',
    enableKeepAlive: true,
    ...extra,
  };
}

/** Where the pool connects, without credentials (for messages). */
export function describeTarget(url: string): string {
  const parsed = new URL(url);
  return `mysql://${parsed.hostname}:${parsed.port || 3306}${parsed.pathname}`;
}

/** Opens a pool and checks that the server answers; a DependencyError names the address otherwise. */
export async function openPool(url: string, extra: Partial<PoolOptions> = {}): Promise<Pool> {
  const pool = mysql.createPool(poolOptions(url, extra));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new DependencyError('MySQL (metadata)', describeTarget(url), error);
  }
  return pool;
}
