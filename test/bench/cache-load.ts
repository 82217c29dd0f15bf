// The load of bench:cache, in a worker thread of its own so that the gets measured share no event
// loop with it: the loadgen's workload at a steady rate, and updates of the cached table's rows.
import { parentPort, workerData } from 'node:worker_threads';
import { runWorkload } from '@sluice/loadgen';
import mysql from 'mysql2/promise';

const { url, database, rows, workloadRate, updatesPerSecond } = workerData as {
  url: string;
  database: string;
  rows: number;
  workloadRate: number;
  updatesPerSecond: number;
};
const stop = new AbortController();
parentPort?.once('message', () => stop.abort());
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const pool = mysql.createPool({ uri: url, connectionLimit: 4 });

const workload = runWorkload({
  url,
  database,
  operations: 10_000_000,
  concurrency: 4,
  seed: 20261203,
  ratePerSecond: workloadRate,
  signal: stop.signal,
});
let updates = 0;
const started = Date.now();
while (!stop.signal.aborted) {
  const due = Math.floor(((Date.now() - started) / 1000) * updatesPerSecond);
  const batch: Array<Promise<unknown>> = [];
  for (; updates < due; updates++) {
    const id = 1 + ((updates * 7919) % (rows - 1)); // never the probe row (the last)
    batch.push(pool.query('UPDATE items SET qty = qty + 1, updated = NOW(3) WHERE id = ?', [id]));
  }
  await Promise.all(batch);
  await sleep(10);
}
const stats = await workload.catch(() => undefined);
await pool.end();
parentPort?.postMessage({ updates, workload: stats?.operations ?? 0 });
