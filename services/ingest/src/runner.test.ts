// IngestRunner with in-memory fakes of its narrow interfaces (BufferWriter, SchemaSink, BackupWriter,
// DeadLetterSink): what a batch writes, in which order, what it refuses, and what a failure leaves
// behind. What a batch becomes (routing, collapsing, DDL) is planBatch's, tested in plan.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackupRow, BackupWriter, DeadLetterInput, PartitionProgress, TableReset } from '@sluice/backup';
import type { BufferEntry, BufferWriter } from '@sluice/buffer';
import { Mapping, makeVersion } from '@sluice/core';
import { createLogger, ingestMetrics, Registry } from '@sluice/runtime';
import type { MappingConflict } from '@sluice/sink';
import type { SourceBatch } from '@sluice/source';
import { IngestRunner, type IngestSettings, type SchemaSink } from './runner.ts';

const TOPIC = 'canal';
const PARTITION = 2;

/** A Canal flat message of rows of shop.items (id, name), or other fields given in `over`. */
function canal(over: Record<string, unknown> = {}): string {
  const base = { database: 'shop', table: 'items', pkNames: ['id'], isDdl: false, type: 'INSERT' };
  const rows = { es: 1000, ts: 1001, mysqlType: { id: 'int', name: 'varchar(9)' }, old: null };
  return JSON.stringify({ ...base, ...rows, data: [{ id: '1', name: 'a' }], ...over });
}

const batch = (...messages: Array<[offset: number, value: string | null]>): SourceBatch => ({
  topic: TOPIC,
  partition: PARTITION,
  messages: messages.map(([offset, value]) => ({
    offset: String(offset),
    value: value === null ? null : Buffer.from(value),
    timestamp: 0,
  })),
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

type Call = 'ensure' | 'upsert' | 'deadLetters' | 'commit';

interface Knobs {
  /** The applied offsets the backup holds for TOPIC (partition → offset). */
  applied?: Array<[number, number]>;
  /** Where tables were first seen (first sight wins). */
  places?: Array<[string, { topic: string; partition: number }]>;
  /** Errors the calls throw, used up one per call. */
  failures?: Partial<Record<Call, Error[]>>;
  /** Mapping conflicts the schema sink reports on each ensure. */
  conflicts?: Array<{ tableKey: string; index: string; conflicts: MappingConflict[] }>;
  /** How many changes the buffer refuses as not newer. */
  refused?: number;
  /** A promise the backup commit waits for. */
  commitGate?: Promise<void>;
  settings?: Partial<IngestSettings>;
  mapping?: Mapping;
}

function harness(knobs: Knobs = {}) {
  const events: string[] = [];
  const applied = new Map(knobs.applied ?? []);
  const places = new Map(knobs.places ?? []);
  const upserts: BufferEntry[][] = [];
  const letters: DeadLetterInput[][] = [];
  const commits: Array<{ rows: BackupRow[]; progress: PartitionProgress[]; resets: TableReset[] }> = [];
  const fail = (call: Call) => {
    const error = knobs.failures?.[call]?.shift();
    if (error) throw error;
  };

  const buffer: BufferWriter = {
    async upsert(entries) {
      events.push(`upsert ${entries.length}`);
      fail('upsert');
      upserts.push([...entries]);
      const refused = knobs.refused ?? 0;
      return { inserted: entries.length - refused, replaced: 0, refused };
    },
    totalPending: async () => 0,
  };
  const schemas: SchemaSink = {
    async ensure(tables) {
      events.push(`ensure ${[...tables].map((t) => t.tableKey).join(',')}`);
      fail('ensure');
      return knobs.conflicts ?? [];
    },
  };
  const backup: BackupWriter = {
    async appliedOffsets(topic, generation) {
      events.push(`appliedOffsets ${topic} ${generation}`);
      return new Map(applied);
    },
    async tablePartition(tableName, _generation, topic, partition) {
      events.push(`tablePartition ${tableName}`);
      if (!places.has(tableName)) places.set(tableName, { topic, partition });
      return places.get(tableName) as { topic: string; partition: number };
    },
    async commitBatch(rows, progress, resets = []) {
      events.push(`commit ${rows.length} rows, progress ${progress.map((p) => p.offset).join(',') || '-'}`);
      await knobs.commitGate;
      fail('commit');
      commits.push({ rows: [...rows], progress: [...progress], resets: [...resets] });
      for (const p of progress) applied.set(p.partition, p.offset);
    },
  };
  const deadLetters = {
    async add(entries: readonly DeadLetterInput[]) {
      events.push(`deadLetters ${entries.map((e) => e.reason).join(',') || '-'}`);
      fail('deadLetters');
      letters.push([...entries]);
    },
  };

  const metrics = ingestMetrics(new Registry());
  const runner = new IngestRunner(
    {
      buffer,
      schemas,
      backup,
      deadLetters,
      mapping: knobs.mapping ?? new Mapping({}),
      metrics,
      logger: createLogger('test', 'silent'),
      invalidator: {
        async invalidate(rows) {
          events.push(`invalidate ${rows.map((r) => `${r.table}:${r.pk}`).join(',')}`);
        },
        async invalidateTables(tables) {
          events.push(`invalidateTables ${tables.join(',')}`);
        },
      },
    },
    {
      skipDatabases: ['sluice_meta'],
      shards: 16,
      generation: 3,
      maxRowBytes: 1 << 20,
      timeZone: 'UTC',
      applyResets: false,
      ...knobs.settings,
    },
  );
  /** A counter's values by one label. */
  const counted = async (name: 'refused' | 'dlq', label: 'reason') =>
    Object.fromEntries((await metrics[name].get()).values.map((v) => [v.labels[label], v.value]));
  return { runner, events, upserts, letters, commits, applied, counted };
}

test('a batch is written schemas first, then the buffer, then dead letters, then the backup rows with the applied offset, then the caches invalidated', async () => {
  const h = harness();
  const result = await h.runner.process(
    batch(
      [10, canal()],
      [11, canal({ type: 'UPDATE', data: [{ id: '1', name: 'b' }], old: [{ name: 'a' }] })],
      [12, canal({ data: [{ id: '2', name: 'c' }] })],
    ),
  );
  assert.deepEqual(h.events, [
    `appliedOffsets ${TOPIC} 3`,
    'tablePartition shop.items',
    'ensure shop.items',
    'upsert 2',
    'deadLetters -',
    'commit 2 rows, progress 12',
    'invalidate shop.items:1,shop.items:2',
  ]);
  assert.deepEqual(result, { messages: 3, buffered: 2, refused: 0, replayed: 0, deadLettered: 0 });
  const [entries] = h.upserts;
  const [commit] = h.commits;
  assert.deepEqual(
    entries?.map((e) => [e.field, e.version]),
    [
      ['shop.items|1', makeVersion(3, 11)],
      ['shop.items|2', makeVersion(3, 12)],
    ],
  );
  assert.deepEqual(
    commit?.rows.map((r) => [r.tableName, r.primaryKey, r.version, r.data]),
    [
      ['shop.items', '1', makeVersion(3, 11), '{"id":1,"name":"b"}'],
      ['shop.items', '2', makeVersion(3, 12), '{"id":2,"name":"c"}'],
    ],
    'the backup holds what the buffer got',
  );
  assert.deepEqual(commit?.progress, [{ topic: TOPIC, partition: PARTITION, generation: 3, offset: 12 }]);
});

test('the batch is done (the caller may commit Kafka) only once the backup commit is', async () => {
  const gate = deferred();
  const h = harness({ commitGate: gate.promise });
  let done = false;
  const processing = h.runner.process(batch([1, canal()])).then(() => {
    done = true;
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(h.events.at(-1), 'commit 1 rows, progress 1');
  assert.equal(done, false);
  gate.resolve();
  await processing;
});

test('offsets at or below the applied offset are refused before the buffer; the applied offset never goes back', async () => {
  const h = harness({ applied: [[PARTITION, 11]] });
  const result = await h.runner.process(
    batch(
      [10, canal()],
      [11, canal({ data: [{ id: '2', name: 'x' }] })],
      [12, canal({ data: [{ id: '3' }] })],
    ),
  );
  assert.deepEqual(result, { messages: 3, buffered: 1, refused: 0, replayed: 2, deadLettered: 0 });
  assert.deepEqual(
    h.upserts.flat().map((e) => e.field),
    ['shop.items|3'],
  );
  assert.deepEqual(await h.counted('refused', 'reason'), { replayed_offset: 2 });

  h.events.length = 0;
  const replay = await h.runner.process(batch([11, canal()], [12, canal()]));
  assert.deepEqual(replay, { messages: 2, buffered: 0, refused: 0, replayed: 2, deadLettered: 0 });
  assert.deepEqual(
    h.events,
    ['ensure ', 'deadLetters -', 'commit 0 rows, progress -'],
    'the applied offset is kept in memory: no reading, no buffer write, no progress back',
  );
  assert.deepEqual(h.applied.get(PARTITION), 12);
});

test('after a rebalance the applied offset is read again: another member may have moved the partition on', async () => {
  const h = harness({ applied: [[PARTITION, 4]] });
  await h.runner.process(batch([5, canal()]));
  h.applied.set(PARTITION, 9);
  h.runner.resetPartitionState();
  const result = await h.runner.process(batch([8, canal()], [9, canal()], [10, canal()]));
  assert.equal(h.events.filter((e) => e.startsWith('appliedOffsets')).length, 2);
  assert.equal(result.replayed, 2);
  assert.equal(result.buffered, 1);
});

test('the buffer refusing older versions is counted and is no error', async () => {
  const h = harness({ refused: 1 });
  const result = await h.runner.process(batch([1, canal()]));
  assert.equal(result.refused, 1);
  assert.deepEqual(await h.counted('refused', 'reason'), { older_than_buffered: 1 });
  assert.equal(h.commits.length, 1, 'the refused row is still backed up (the buffer holds a newer one)');
});

test('empty and undecodable messages are dead-lettered with their Kafka position; the rest is applied', async () => {
  const h = harness();
  const result = await h.runner.process(batch([20, null], [21, '{broken'], [22, canal()]));
  assert.deepEqual(result, { messages: 3, buffered: 1, refused: 0, replayed: 0, deadLettered: 2 });
  assert.deepEqual(
    h.letters.flat().map((d) => [d.reason, d.topic, d.partition, d.offset]),
    [
      ['invalid_shape', TOPIC, PARTITION, '20'],
      ['invalid_json', TOPIC, PARTITION, '21'],
    ],
  );
  assert.deepEqual(h.letters.flat()[1]?.payload, Buffer.from('{broken'), 'the raw message is kept');
  assert.deepEqual(
    h.commits[0]?.progress.map((p) => p.offset),
    [22],
    'dead letters do not hold the partition',
  );
  assert.deepEqual(await h.counted('dlq', 'reason'), { invalid_shape: 1, invalid_json: 1 });
  assert.ok(
    h.events.indexOf('deadLetters invalid_shape,invalid_json') <
      h.events.indexOf('commit 1 rows, progress 22'),
  );
});

test("the metadata database is never applied, and a table's first partition is asked once per process", async () => {
  const h = harness({
    places: [['shop.items', { topic: TOPIC, partition: 0 }]],
    mapping: new Mapping({ unmapped: 'deadletter', tables: { 'shop.*': null } }),
  });
  const first = await h.runner.process(
    batch([1, canal()], [2, canal({ database: 'sluice_meta', table: 'x' })]),
  );
  assert.deepEqual(
    h.letters.flat().map((d) => [d.reason, d.offset]),
    [['table_moved_partition', '1']],
  );
  assert.equal(first.buffered, 0);
  await h.runner.process(batch([3, canal()]));
  assert.equal(h.events.filter((e) => e === 'tablePartition shop.items').length, 1);
  assert.equal(h.letters.flat().length, 2);
});

test('a failing step fails the batch, nothing after it is written, and the batch applies when it comes again', async () => {
  for (const call of ['ensure', 'upsert', 'deadLetters', 'commit'] as const) {
    const h = harness({ failures: { [call]: [new Error(`${call} down`)] } });
    const messages = batch([7, null], [8, canal()]);
    await assert.rejects(h.runner.process(messages), new RegExp(`${call} down`));
    const order = ['ensure', 'upsert', 'deadLetters', 'commit'];
    assert.deepEqual(
      h.events.slice(2).map((e) => e.split(' ')[0]),
      order.slice(0, order.indexOf(call) + 1),
      `after ${call} fails`,
    );
    assert.equal(h.commits.length, 0);
    const again = await h.runner.process(messages);
    assert.deepEqual(again, { messages: 2, buffered: 1, refused: 0, replayed: 0, deadLettered: 1 }, call);
    assert.deepEqual(
      h.commits[0]?.progress.map((p) => p.offset),
      [8],
    );
  }
});

test('TRUNCATE goes to the backup commit with the batch when resets are applied', async () => {
  const h = harness({ settings: { applyResets: true } });
  const truncate = canal({
    isDdl: true,
    type: 'TRUNCATE',
    sql: 'TRUNCATE TABLE items',
    data: null,
    es: 7000,
  });
  await h.runner.process(batch([1, truncate]));
  assert.deepEqual(
    h.commits[0]?.resets.map((r) => [r.tableName, r.kind, r.fenceTs]),
    [['shop.items', 'TRUNCATE', 7000]],
  );
  assert.deepEqual(
    h.commits[0]?.progress.map((p) => p.offset),
    [1],
  );
});

test("the row caches are invalidated after the backup commit: a batch's rows, and whole tables on DDL", async () => {
  const h = harness();
  const alter = canal({ isDdl: true, type: 'ALTER', sql: 'ALTER TABLE items ADD c INT', data: null });
  await h.runner.process(
    batch(
      [
        1,
        canal({
          data: [
            { id: '1', name: 'a' },
            { id: '2', name: 'b' },
          ],
        }),
      ],
      [2, alter],
    ),
  );
  const after = h.events.slice(h.events.findIndex((e) => e.startsWith('commit')));
  assert.deepEqual(after.slice(0, 3), [
    'commit 2 rows, progress 2',
    'invalidate shop.items:1,shop.items:2',
    'invalidateTables shop.items',
  ]);
});

test('text Canal could not decode is dead-lettered once per column and process, and again if its batch failed', async () => {
  const h = harness({ failures: { deadLetters: [new Error('mysql down')] } });
  const damaged = (offset: number) =>
    batch([offset, canal({ data: [{ id: String(offset), name: 'Caf\uFFFD' }] })]);
  await assert.rejects(h.runner.process(damaged(1)));
  await h.runner.process(damaged(1));
  await h.runner.process(damaged(2));
  assert.deepEqual(
    h.letters.flat().map((d) => [d.reason, d.tableName, d.offset]),
    [['text_undecodable', 'shop.items', '1']],
  );
  assert.match(h.letters.flat()[0]?.detail ?? '', /column\(s\) name of shop\.items/);
  assert.equal(h.upserts.length, 3, 'the damaged rows are applied all the same');
});

test('mapping conflicts are dead-lettered once per field and type, and again if their batch failed', async () => {
  const conflict = (wanted: string) => ({
    tableKey: 'shop.items',
    index: 'items',
    conflicts: [{ field: 'name', existing: 'long', wanted }],
  });
  const conflicts = [conflict('keyword')];
  const h = harness({ conflicts, failures: { deadLetters: [new Error('mysql down')] } });
  await assert.rejects(h.runner.process(batch([1, canal()])));
  await h.runner.process(batch([1, canal()]));
  await h.runner.process(batch([2, canal()]));
  conflicts.push(conflict('date'));
  await h.runner.process(batch([3, canal()]));
  assert.deepEqual(
    h.letters.flat().map((d) => [d.reason, d.tableName, d.detail]),
    [
      [
        'mapping_conflict',
        'shop.items',
        "items: column name: the index has long, the table's type gives keyword (values go on being written; sluice reindex shop.items applies the new types)",
      ],
      [
        'mapping_conflict',
        'shop.items',
        "items: column name: the index has long, the table's type gives date (values go on being written; sluice reindex shop.items applies the new types)",
      ],
    ],
  );
});
