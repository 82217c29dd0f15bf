import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FlatLoadOptions, FlatMessageGenerator } from './flat.ts';
import { dueBy } from './flat-producer.ts';

const base: FlatLoadOptions = {
  database: 'load',
  tables: ['t0', 't1', 't2'],
  keysPerTable: 100,
  zipfS: 1.1,
  partitions: 6,
  seed: 7,
  now: () => 1_700_000_000_000,
};

function run(options: FlatLoadOptions, n: number) {
  const generator = new FlatMessageGenerator(options);
  const messages = Array.from({ length: n }, () => generator.next());
  return { generator, messages };
}

test('instances own disjoint ids, every table one partition, and the same options make the same messages', () => {
  const owners = new Map<string, number>();
  const partitions = new Map<string, Set<number>>();
  for (let instance = 0; instance < 3; instance++) {
    const { messages } = run({ ...base, instance, instances: 3 }, 3000);
    for (const m of messages) {
      const key = `${m.table}|${m.id}`;
      assert.equal(owners.get(key) ?? instance, instance, `${key} written by two instances`);
      owners.set(key, instance);
      assert.ok(m.id >= 1 && m.id <= base.keysPerTable);
      partitions.set(m.table, (partitions.get(m.table) ?? new Set()).add(m.partition));
    }
  }
  for (const [table, set] of partitions) assert.equal(set.size, 1, `${table} in one partition`);
  assert.deepEqual(
    run({ ...base, instance: 1, instances: 3 }, 200).messages,
    run({ ...base, instance: 1, instances: 3 }, 200).messages,
  );
  assert.notDeepEqual(
    run({ ...base, instance: 1, instances: 3 }, 50).messages,
    run({ ...base, instance: 2, instances: 3 }, 50).messages,
  );
});

test('a row is inserted when absent, then updated or deleted; the expected state is each id’s last write', () => {
  const { generator, messages } = run({ ...base, deleteShare: 0.2 }, 5000);
  const state = new Map<string, number | null>();
  for (const m of messages) {
    const key = `${m.table}|${m.id}`;
    const before = state.get(key);
    if (m.type === 'INSERT')
      assert.ok(before === undefined || before === null, `${key} inserted while it exists`);
    else assert.ok(typeof before === 'number', `${key} ${m.type} of a row that does not exist`);
    const parsed = JSON.parse(m.value) as {
      type: string;
      table: string;
      data: Array<{ id: string; rev: string }>;
    };
    assert.deepEqual(
      [parsed.type, parsed.table, parsed.data[0]?.id, parsed.data[0]?.rev],
      [m.type, m.table, String(m.id), String(m.rev)],
    );
    state.set(key, m.type === 'DELETE' ? null : m.rev);
  }
  const expected = generator.expected();
  let keys = 0;
  for (const [table, rows] of expected)
    for (const [id, rev] of rows) {
      assert.equal(rev, state.get(`${table}|${id}`), `${table}|${id}`);
      keys++;
    }
  assert.equal(keys, state.size);
  assert.ok(
    [...state.values()].some((v) => v === null),
    'some rows end deleted',
  );
});

test('rows are about the size asked for; uniform keys spread over every owned id', () => {
  const { messages } = run({ ...base, rowBytes: 1000, zipfS: 0, keysPerTable: 50, tables: ['t'] }, 5000);
  for (const m of messages.slice(0, 20)) {
    const row = JSON.stringify((JSON.parse(m.value) as { data: unknown[] }).data[0]);
    assert.ok(row.length >= 1000 && row.length < 1100, `${row.length} bytes`);
  }
  assert.equal(new Set(messages.map((m) => m.id)).size, 50);
  assert.throws(() => new FlatMessageGenerator({ ...base, instance: 3, instances: 3 }), /instance 3 of 3/);
});

test('a ramp climbs linearly to the rate: half the messages of its length, then the full rate', () => {
  const rate = { ratePerSecond: 1000, rampSeconds: 10 };
  assert.equal(dueBy(0, rate), 0);
  assert.equal(dueBy(5, rate), 1250);
  assert.equal(dueBy(10, rate), 5000);
  assert.equal(dueBy(12, rate), 7000);
  assert.equal(dueBy(3, { ratePerSecond: 1000 }), 3000);
});
