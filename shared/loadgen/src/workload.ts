// A random MySQL workload over three tables, built to exercise what Sluice promises:
//   accounts     single key: inserts, updates, deletes, re-inserts of deleted ids, primary-key changes,
//                multi-row updates; keys Zipf-distributed
//   order_lines  composite key (order_id, sku) with skus containing separators and non-ASCII
//   hot_counters a handful of rows updated hundreds of times per window
// Seeded: the same options give the same operations (per connection; interleaving varies).
import mysql, { type Pool } from 'mysql2/promise';
import { pick, seeded, zipf } from './random.ts';

export interface WorkloadOptions {
  /** A MySQL URL; the database in it is ignored in favour of `database`. */
  url: string;
  database: string;
  operations: number;
  concurrency: number;
  seed: number;
  /** Key space of accounts (ids 1..n). Default 2000. */
  accounts?: number;
  /** Key space of orders. Default 500. */
  orders?: number;
  /** Rows of hot_counters. Default 3. */
  hotKeys?: number;
  /** Share of operations that update hot counters. Default 0.35. */
  hotShare?: number;
  /** Zipf exponent of key choice. Default 1.1. */
  zipfS?: number;
  /** Operations per second in all (unbounded when absent). */
  ratePerSecond?: number;
  onProgress?: (done: number) => void;
  /** Stops the workload early (the statements in flight finish). */
  signal?: AbortSignal;
}

export interface WorkloadStats {
  operations: number;
  byKind: Record<string, number>;
  /** Statements refused by MySQL (duplicate keys of random ids): no change, no binlog event. */
  refused: number;
  /** Statements run again after InnoDB chose them as a deadlock's victim (rolled back: no change). */
  retried: number;
  seconds: number;
}

const SKUS = ['A-1', 'B:2', 'C|3', 'D 4', 'É5', 'f{6}', 'g~7', '订单8'];

export const WORKLOAD_TABLES = ['accounts', 'order_lines', 'hot_counters'] as const;

export async function createWorkloadSchema(pool: Pool, database: string, hotKeys = 3): Promise<void> {
  const db = `\`${database}\``;
  await pool.query(`CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET utf8mb4`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${db}.accounts (
    id BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(80) NOT NULL,
    balance DECIMAL(14, 2) NOT NULL DEFAULT 0,
    status ENUM('active', 'frozen', 'closed') NOT NULL DEFAULT 'active',
    notes TEXT NULL,
    updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
  ) ENGINE = InnoDB`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${db}.order_lines (
    order_id BIGINT NOT NULL,
    sku VARCHAR(32) NOT NULL,
    qty INT NOT NULL,
    price DECIMAL(10, 2) NOT NULL,
    PRIMARY KEY (order_id, sku)
  ) ENGINE = InnoDB`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${db}.hot_counters (
    name VARCHAR(32) NOT NULL PRIMARY KEY,
    value BIGINT NOT NULL DEFAULT 0,
    touched DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
  ) ENGINE = InnoDB`);
  const rows = Array.from({ length: hotKeys }, (_, i) => [`hot-${i}`]);
  await pool.query(`INSERT IGNORE INTO ${db}.hot_counters (name) VALUES ?`, [rows]);
}

type Op = { kind: string; sql: string; params: unknown[] };

type PlannerOptions = Required<Omit<WorkloadOptions, 'ratePerSecond' | 'onProgress' | 'signal'>>;

function planner(options: PlannerOptions, stream: number) {
  const random = seeded(options.seed * 1009 + stream);
  const account = zipf(options.accounts, options.zipfS, random);
  const order = zipf(options.orders, options.zipfS, random);
  const db = `\`${options.database}\``;
  const money = () => (Math.floor(random() * 2_000_000) / 100 - 5000).toFixed(2);
  return (): Op => {
    const r = random();
    if (r < options.hotShare) {
      const name = `hot-${Math.floor(random() * options.hotKeys)}`;
      return {
        kind: 'hot-update',
        sql: `UPDATE ${db}.hot_counters SET value = value + 1, touched = CURRENT_TIMESTAMP(3) WHERE name = ?`,
        params: [name],
      };
    }
    const rest = (r - options.hotShare) / (1 - options.hotShare);
    const id = account() + 1;
    if (rest < 0.3) {
      return {
        kind: 'account-upsert',
        sql: `INSERT INTO ${db}.accounts (id, name, balance, status, notes) VALUES (?, ?, ?, ?, ?)
              ON DUPLICATE KEY UPDATE name = VALUES(name), balance = VALUES(balance), status = VALUES(status),
              notes = VALUES(notes), updated_at = CURRENT_TIMESTAMP(3)`,
        params: [
          id,
          `acct ${id} ${Math.floor(random() * 1e6)}`,
          money(),
          pick(['active', 'frozen', 'closed'], random),
          random() < 0.2 ? null : `n${random()}`,
        ],
      };
    }
    if (rest < 0.42)
      return { kind: 'account-delete', sql: `DELETE FROM ${db}.accounts WHERE id = ?`, params: [id] };
    if (rest < 0.55) {
      return {
        kind: 'account-update',
        sql: `UPDATE ${db}.accounts SET balance = balance + ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id = ?`,
        params: [money(), id],
      };
    }
    if (rest < 0.57) {
      return {
        kind: 'account-pk-change',
        sql: `UPDATE ${db}.accounts SET id = ? WHERE id = ?`,
        params: [options.accounts + 1 + Math.floor(random() * options.accounts), id],
      };
    }
    if (rest < 0.58) {
      return {
        kind: 'account-multi-update',
        sql: `UPDATE ${db}.accounts SET status = ?, updated_at = CURRENT_TIMESTAMP(3) WHERE id BETWEEN ? AND ?`,
        params: [pick(['active', 'frozen'], random), id, id + 20],
      };
    }
    const orderId = order() + 1;
    const sku = pick(SKUS, random);
    if (rest < 0.8) {
      return {
        kind: 'line-upsert',
        sql: `INSERT INTO ${db}.order_lines (order_id, sku, qty, price) VALUES (?, ?, ?, ?)
              ON DUPLICATE KEY UPDATE qty = qty + VALUES(qty), price = VALUES(price)`,
        params: [orderId, sku, 1 + Math.floor(random() * 5), (random() * 100).toFixed(2)],
      };
    }
    if (rest < 0.9) {
      return {
        kind: 'line-delete',
        sql: `DELETE FROM ${db}.order_lines WHERE order_id = ? AND sku = ?`,
        params: [orderId, sku],
      };
    }
    if (rest < 0.95) {
      return {
        kind: 'line-sku-change',
        sql: `UPDATE ${db}.order_lines SET sku = ? WHERE order_id = ? AND sku = ?`,
        params: [pick(SKUS, random), orderId, sku],
      };
    }
    return {
      kind: 'order-delete',
      sql: `DELETE FROM ${db}.order_lines WHERE order_id = ?`,
      params: [orderId],
    };
  };
}

export async function runWorkload(options: WorkloadOptions): Promise<WorkloadStats> {
  const settings = {
    accounts: 2000,
    orders: 500,
    hotKeys: 3,
    hotShare: 0.35,
    zipfS: 1.1,
    ...options,
  };
  const server = new URL(options.url);
  server.pathname = '/';
  const pool = mysql.createPool({ uri: server.toString(), connectionLimit: options.concurrency });
  const stats: WorkloadStats = { operations: 0, byKind: {}, refused: 0, retried: 0, seconds: 0 };
  const started = Date.now();
  let issued = 0;
  try {
    await createWorkloadSchema(pool, options.database, settings.hotKeys);
    const streams = Array.from({ length: options.concurrency }, async (_, stream) => {
      const next = planner(settings, stream);
      for (;;) {
        const n = issued++;
        if (n >= options.operations || options.signal?.aborted) return;
        if (options.ratePerSecond) {
          const due = started + (n / options.ratePerSecond) * 1000;
          const wait = due - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        const op = next();
        for (let attempt = 1; ; attempt++) {
          try {
            await pool.query(op.sql, op.params);
            stats.byKind[op.kind] = (stats.byKind[op.kind] ?? 0) + 1;
          } catch (error) {
            const code = (error as { code?: string }).code;
            // InnoDB rolled the statement back as a deadlock's victim (or after a lock wait): again
            if ((code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT') && attempt < 10) {
              stats.retried++;
              continue;
            }
            if (code !== 'ER_DUP_ENTRY') throw error;
            stats.refused++;
          }
          break;
        }
        stats.operations++;
        if (stats.operations % 1000 === 0) options.onProgress?.(stats.operations);
      }
    });
    await Promise.all(streams);
  } finally {
    await pool.end();
  }
  stats.seconds = (Date.now() - started) / 1000;
  return stats;
}
