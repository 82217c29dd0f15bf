// An index that refuses writes (an operator's `index.blocks.write`, or Elasticsearch's read-only
// block at the disk's flood stage) is a wait, not bad input: its changes stay buffered and are
// retried with backoff, never dead-lettered, while another table in the same shard goes on
// converging; once the block is lifted the blocked table converges too.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RedisBuffer } from '@sluice/buffer';
import { shardOfTable, tableKey } from '@sluice/core';
import type { Connection } from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { openRedis } from '../support/redis.ts';
import { waitFor } from '../support/wait.ts';

let pipeline: Pipeline;
let db: Connection;
const blocked = 'blocked_c';
let open = '';

before(async () => {
  pipeline = await createPipeline({ env: { SLUICE_WINDOW_MS: '1000', SLUICE_RETRY_BACKOFF_MAX_MS: '4000' } });
  // a second table in the blocked table's shard: the neighbour that must not wait
  const shard = shardOfTable(tableKey(pipeline.database, blocked), 16);
  for (let i = 0; !open; i++) {
    const name = `open_b${i}`;
    if (shardOfTable(tableKey(pipeline.database, name), 16) === shard) open = name;
  }
  db = await pipeline.openSource();
  for (const table of [blocked, open])
    await db.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB`);
  await pipeline.start('ingest');
  await pipeline.start('worker');
});

after(async () => {
  await db?.end();
  await pipeline?.close();
});

async function writes(table: string, from: number, to: number, n: number): Promise<void> {
  for (let id = from; id <= to; id++)
    await db.query(`INSERT INTO ${table} (id, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n)`, [
      id,
      n,
    ]);
}

const blockWrites = (on: boolean) =>
  pipeline.es.request({
    method: 'PUT',
    path: `/${pipeline.mapping.defaultIndex(pipeline.database, blocked)}/_settings`,
    body: { 'index.blocks.write': on ? true : null },
  });

test('a write-blocked index keeps its changes buffered while its shard neighbour converges', async () => {
  await writes(blocked, 1, 50, 1);
  await writes(open, 1, 50, 1);
  await pipeline.waitConverged([blocked, open]);

  await blockWrites(true);
  await writes(blocked, 1, 80, 2);
  await writes(open, 1, 80, 2);
  await pipeline.waitConverged([open]);
  const redis = openRedis();
  try {
    const buffer = new RedisBuffer(redis, {
      prefix: pipeline.env.SLUICE_REDIS_PREFIX as string,
      cluster: pipeline.env.SLUICE_CLUSTER as string,
      shards: 16,
    });
    const shard = shardOfTable(tableKey(pipeline.database, blocked), 16);
    await waitFor(
      "the blocked table's 80 rows to wait in the buffer, put aside with a backoff",
      async () => {
        const [stats] = await buffer.stats([shard]);
        return stats && stats.pending >= 80 && stats.delayed > 0 ? true : undefined;
      },
      { timeoutMs: 30_000 },
    );
  } finally {
    redis.disconnect();
  }
  const [stale] = await pipeline.check([blocked]);
  assert.ok((stale?.missing.length ?? 0) + (stale?.stale.length ?? 0) > 0, 'the blocked index is behind');

  await blockWrites(false);
  await pipeline.waitConverged([blocked, open], 60_000);
  const letters = await pipeline.queryMeta('SELECT reason, table_name, detail FROM dead_letter');
  assert.deepEqual(letters, [], 'nothing dead-lettered');
});
