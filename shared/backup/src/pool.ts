// MySQL connection pools: the metadata database's, and the source server's (workers, TRUNCATE / DROP).
import { DependencyError } from '@sluice/core';
import mysql, { type Pool, type PoolOptions } from 'mysql2/promise';

export type { Pool } from 'mysql2/promise';

/**
 * "mysql://user:pass@host:port/db" → pool options; versions (BIGINT) come back as numbers. The URL
 * must name a database unless `extra` sets one (undefined: a pool whose queries name theirs).
 */
export function poolOptions(url: string, extra: Partial<PoolOptions> = {}): PoolOptions {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database && !Object.hasOwn(extra, 'database'))
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

/**
 * Opens a pool and checks that the server answers; a DependencyError names the server (`label`) and
 * its address otherwise.
 */
export async function openPool(
  url: string,
  extra: Partial<PoolOptions> = {},
  label = 'MySQL (metadata)',
): Promise<Pool> {
  const pool = mysql.createPool(poolOptions(url, extra));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new DependencyError(label, describeTarget(url), error);
  }
  return pool;
}
