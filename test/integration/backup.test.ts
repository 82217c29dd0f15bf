// The metadata database against the real MariaDB of the local stack.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  BackupRepository,
  DeadLetterRepository,
  loadMigrations,
  migrate,
  type Pool,
  ResyncJobRepository,
  SyncMonitorRepository,
} from '@sluice/backup';
import type { RowDataPacket } from 'mysql2/promise';
import { type MetaDatabase, openMetaDatabase } from '../support/mysql.ts';

let meta: MetaDatabase;
let pool: Pool;
let repo: BackupRepository;

before(async () => {
  meta = await openMetaDatabase();
  pool = meta.pool;
  repo = new BackupRepository(pool);
});

after(async () => {
  await meta?.close();
});

const row = (pk: string, version: number, data: string | null = `{"v":${version}}`) => ({
  shard: 5,
  tableName: 'shop.items',
  primaryKey: pk,
  version,
  op: data === null ? ('d' as const) : ('u' as const),
  data,
  sourceTs: 1000 + version,
});

test('migrations are idempotent, serialised and refuse edited history', async () => {
  const again = await Promise.all([migrate(pool), migrate(pool)]);
  assert.deepEqual(
    again.map((r) => r.applied),
    [[], []],
  );
  const [tables] = await pool.query<RowDataPacket[]>('SHOW TABLES');
  const names = tables.map((t) => String(Object.values(t)[0])).sort();
  assert.deepEqual(names, [
    'buffer_backup',
    'check_differences',
    'check_runs',
    'check_tables',
    'dead_letter',
    'reindex_jobs',
    'resync_jobs',
    'schema_migrations',
    'source_progress',
    'source_tables',
    'sync_monitor',
    'table_fences',
    'table_sweeps',
  ]);
  const [partitions] = await pool.query<RowDataPacket[]>(
    "SELECT COUNT(*) AS n FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'buffer_backup'",
  );
  assert.equal(Number(partitions[0]?.n), 16, 'the backup table is partitioned by shard');

  const dir = mkdtempSync(join(tmpdir(), 'sluice-migrations-'));
  const original = loadMigrations()[0];
  assert.ok(original);
  writeFileSync(join(dir, `${original.name}.sql`), `${original.sql}\n-- edited\n`);
  await assert.rejects(
    migrate(pool, loadMigrations(pathToFileURL(`${dir}/`))),
    /applied with different contents/,
  );
});

test('the backup keeps the newest version per row whatever the order of writes', async () => {
  await repo.commitBatch([row('a', 10), row('b', 3)], []);
  await repo.commitBatch([row('a', 7, '{"stale":true}'), row('b', 4, null)], []);
  // Both versions of a row in one statement: the older, second one changes nothing either.
  await repo.commitBatch([row('e', 8), row('e', 6, '{"stale":true}')], []);
  const rows = await repo.listUnsynced(5, 10);
  // Every column comes from the newest version (the columns are chosen before the version is raised).
  assert.deepEqual(
    rows.map(({ updatedTime: _, ...r }) => r),
    [row('a', 10), row('b', 4, null), row('e', 8)],
  );
});

test('settling marks only the flushed version; a newer write makes the row pending again', async () => {
  await repo.commitBatch([row('c', 20)], []);
  assert.equal(
    await repo.settle(5, [{ tableName: 'shop.items', primaryKey: 'c', version: 19 }], 'synced'),
    0,
  );
  assert.equal(
    await repo.settle(5, [{ tableName: 'shop.items', primaryKey: 'c', version: 20 }], 'synced'),
    1,
  );
  assert.ok(!(await repo.listUnsynced(5, 100)).some((r) => r.primaryKey === 'c'));
  await repo.commitBatch([row('c', 21)], []);
  assert.ok((await repo.listUnsynced(5, 100)).some((r) => r.primaryKey === 'c' && r.version === 21));
  await repo.commitBatch([row('c', 18)], []);
  assert.ok((await repo.listUnsynced(5, 100)).some((r) => r.primaryKey === 'c' && r.version === 21));
  // Only pending rows settle; and an older write does not make a synced row pending again.
  const c21 = { tableName: 'shop.items', primaryKey: 'c', version: 21 };
  assert.equal(await repo.settle(5, [c21], 'synced'), 1);
  assert.equal(await repo.settle(5, [c21], 'dead'), 0, 'a synced row is settled already');
  await repo.commitBatch([row('c', 19)], []);
  assert.ok(!(await repo.listUnsynced(5, 100)).some((r) => r.primaryKey === 'c'));
});

test('unsynced rows page by primary key', async () => {
  const many = Array.from({ length: 25 }, (_, i) => ({
    ...row(`p${String(i).padStart(2, '0')}`, 1),
    shard: 6,
  }));
  await repo.commitBatch(many, []);
  const seen: string[] = [];
  let after: { tableName: string; primaryKey: string } | undefined;
  for (;;) {
    const page = await repo.listUnsynced(6, 10, after);
    if (page.length === 0) break;
    seen.push(...page.map((r) => r.primaryKey));
    const last = page[page.length - 1];
    after = last && { tableName: last.tableName, primaryKey: last.primaryKey };
  }
  assert.equal(seen.length, 25);
  assert.deepEqual(seen, [...seen].sort());
});

test('applied offsets only move forward and commit with the rows', async () => {
  await repo.commitBatch([], [{ topic: 't', partition: 0, generation: 0, offset: 50 }]);
  await repo.commitBatch([], [{ topic: 't', partition: 0, generation: 0, offset: 40 }]); // an older batch
  await repo.commitBatch([], [{ topic: 't', partition: 1, generation: 0, offset: 7 }]);
  assert.deepEqual([...(await repo.appliedOffsets('t', 0))].sort(), [
    [0, 50],
    [1, 7],
  ]);
  assert.equal((await repo.appliedOffsets('t', 1)).size, 0);

  // A failing row write rolls back the offsets of the same batch.
  const bad = { ...row('x', 1), tableName: 'x'.repeat(300) };
  await assert.rejects(repo.commitBatch([bad], [{ topic: 't', partition: 0, generation: 0, offset: 99 }]));
  assert.equal((await repo.appliedOffsets('t', 0)).get(0), 50);
});

test('the first partition a table arrives in is recorded', async () => {
  assert.deepEqual(await repo.tablePartition('shop.items', 0, 't', 3), { topic: 't', partition: 3 });
  assert.deepEqual(await repo.tablePartition('shop.items', 0, 't', 4), { topic: 't', partition: 3 });
  assert.deepEqual(await repo.tablePartition('shop.items', 1, 't', 4), { topic: 't', partition: 4 });
});

test('settled rows are purged after the retention; pending rows never', async () => {
  await repo.commitBatch(
    [
      { ...row('old', 1), shard: 7 },
      { ...row('keep', 1), shard: 7 },
    ],
    [],
  );
  await repo.settle(7, [{ tableName: 'shop.items', primaryKey: 'old', version: 1 }], 'synced');
  assert.equal(await repo.purgeSettled(60_000), 0, 'within the retention');
  // Settled rows of the tests above (shard 5's c@21) are purged too, and only settled ones.
  assert.equal(await repo.purgeSettled(0), 2);
  assert.deepEqual(
    (await repo.listUnsynced(7, 10)).map((r) => r.primaryKey),
    ['keep'],
  );
});

test('dead letters are stored with reason, origin and payload, and can be marked replayed', async () => {
  const dlq = new DeadLetterRepository(pool);
  await dlq.add([
    {
      stage: 'ingest',
      reason: 'invalid_json',
      detail: 'not JSON',
      topic: 'sluice.canal',
      partition: 2,
      offset: '12345',
      payload: Buffer.from([0xff, 0x00, 0x7b]),
    },
    {
      stage: 'flush',
      reason: 'es_mapping_error',
      detail: 'x'.repeat(5000),
      tableName: 'shop.a',
      primaryKey: 'k',
      version: 3,
      payload: '{}',
    },
  ]);
  // The same message redelivered by Kafka (same position) is stored once.
  await dlq.add([
    {
      stage: 'ingest',
      reason: 'invalid_json',
      detail: 'again',
      topic: 'sluice.canal',
      partition: 2,
      offset: 12345,
      payload: null,
    },
  ]);
  const all = await dlq.list();
  assert.equal(all.length, 2);
  assert.deepEqual(all[0]?.payload, Buffer.from([0xff, 0x00, 0x7b]));
  assert.equal(all[0]?.offset, 12345);
  assert.equal(all[1]?.detail.length, 4000);
  assert.deepEqual([...(await dlq.count())].sort(), [
    ['es_mapping_error', 1],
    ['invalid_json', 1],
  ]);
  assert.equal(await dlq.markReplayed([all[0]?.id ?? 0]), 1);
  assert.deepEqual(
    (await dlq.list({ pendingOnly: true })).map((d) => d.reason),
    ['es_mapping_error'],
  );
  assert.equal((await dlq.get(all[0]?.id ?? 0))?.replayCount, 1);
});

test('the sync monitor records flush batches', async () => {
  const monitor = new SyncMonitorRepository(pool);
  await monitor.record({
    shard: 1,
    batchId: '00000000-0000-0000-0000-000000000001',
    worker: 'w1',
    tables: ['shop.a', 'shop.b'],
    records: 10,
    succeeded: 8,
    refused: 1,
    retried: 1,
    dead: 1,
    bytes: 1234,
    startTime: Date.now() - 50,
    endTime: Date.now(),
    status: 'partial',
  });
  const [rows] = await pool.query<RowDataPacket[]>('SELECT * FROM sync_monitor');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]?.table_names, 'shop.a,shop.b');
  assert.equal(rows[0]?.status, 'partial');

  // Purged after the retention: a batch of two hours ago goes, the recent one stays.
  const twoHoursAgo = Date.now() - 7_200_000;
  await monitor.record({
    shard: 2,
    batchId: '00000000-0000-0000-0000-000000000002',
    worker: 'w1',
    tables: ['shop.a'],
    records: 1,
    succeeded: 1,
    refused: 0,
    retried: 0,
    dead: 0,
    bytes: 10,
    startTime: twoHoursAgo,
    endTime: twoHoursAgo + 5,
    status: 'ok',
  });
  await monitor.purge(3_600_000);
  const [left] = await pool.query<RowDataPacket[]>('SELECT sync_batch_id FROM sync_monitor');
  assert.deepEqual(
    left.map((r) => r.sync_batch_id),
    ['00000000-0000-0000-0000-000000000001'],
  );
});

test('regression: many large dead letters and backup rows are written in statements that fit max_allowed_packet', async () => {
  // A batch of bad 3 MiB messages once became one INSERT above MariaDB's packet limit (16 MiB by
  // default) and stalled the partition, retrying forever.
  const [packet] = await pool.query<RowDataPacket[]>('SELECT @@max_allowed_packet AS bytes');
  const limit = Number(packet[0]?.bytes);
  const dlq = new DeadLetterRepository(pool);
  const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
  const count = Math.ceil((limit * 1.5) / big.length);
  await dlq.add(
    Array.from({ length: count }, (_, i) => ({
      stage: 'ingest' as const,
      reason: 'row_too_large' as const,
      detail: 'big',
      topic: 'regression',
      partition: 0,
      offset: 1000 + i,
      payload: big,
    })),
  );
  assert.equal((await dlq.list({ reason: 'row_too_large', limit: 1000 })).length, count);
  const rows = Array.from({ length: count }, (_, i) => ({
    ...row(`big${i}`, 1),
    shard: 11,
    data: `"${'b'.repeat(3 * 1024 * 1024)}"`,
  }));
  await repo.commitBatch(rows, []);
  assert.equal((await repo.listUnsynced(11, 1000)).length, count);
});

test('a re-sync checkpoint is saved per chunk, survives until finished, and restarts when asked', async () => {
  const jobs = new ResyncJobRepository(pool);
  assert.equal(await jobs.load('shop.big', 'backfill'), undefined);
  await jobs.save('shop.big', 'backfill', ['41'], 1000);
  await jobs.save('shop.big', 'backfill', ['1999', 'ä\u00ff'], 2000);
  assert.deepEqual(
    { ...(await jobs.load('shop.big', 'backfill')), startedAt: 0 },
    { after: ['1999', 'ä\u00ff'], rows: 2000, startedAt: 0 },
  );
  await jobs.finish('shop.big', 'backfill', 2500);
  assert.equal(await jobs.load('shop.big', 'backfill'), undefined, 'a finished job is not resumed');
  assert.deepEqual(
    (await jobs.list('shop.big')).map((j) => [j.rows, j.after, j.finishedAt === null]),
    [[2500, undefined, false]],
  );
  await jobs.save('shop.big', 'backfill', ['5'], 10);
  await jobs.reset('shop.big', 'backfill');
  assert.equal(await jobs.load('shop.big', 'backfill'), undefined);
});
