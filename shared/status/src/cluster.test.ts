import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildClusterStatus, collectClusterStatus } from './cluster.ts';
import type { WorkerPresence } from './presence.ts';

const NOW = 1_800_000_000_000;

function worker(id: string, owned: number[], lastFlush: WorkerPresence['lastFlush'] = {}): WorkerPresence {
  return {
    id,
    host: 'h',
    version: '1.2.3',
    startTime: NOW - 60_000,
    at: NOW,
    owned,
    fenced: false,
    lastFlush,
  };
}

test('a shard is settled only when its assigned owner alone holds it; otherwise moving, or unowned', () => {
  const status = buildClusterStatus(
    {
      cluster: 'c',
      shards: 4,
      assignment: { epoch: 7, owners: ['a', 'b', 'b', ''] },
      // shard 1: b is the owner but a still holds it (handoff); shard 2: nobody holds it yet.
      workers: [worker('a', [0, 1]), worker('b', [1])],
    },
    [],
    NOW,
  );
  assert.deepEqual(
    status.shards.map((s) => [s.shard, s.owner, s.moving, s.heldBy]),
    [
      [0, 'a', false, ['a']],
      [1, 'b', true, ['a', 'b']],
      [2, 'b', true, []],
      [3, null, false, []],
    ],
  );
  assert.equal(status.epoch, 7);
});

test('without presence (Redis unreadable) no shard is called moving: holding is unknown, not absent', () => {
  const status = buildClusterStatus(
    { cluster: 'c', shards: 2, assignment: { epoch: 1, owners: ['a', 'a'] } },
    [],
    NOW,
  );
  assert.ok(status.shards.every((s) => !s.moving && s.owner === 'a'));
});

test("a shard's last flush is the newest by any worker; ages come from the buffer's stats", () => {
  const status = buildClusterStatus(
    {
      cluster: 'c',
      shards: 1,
      assignment: { epoch: 1, owners: ['b'] },
      workers: [
        worker('a', [], { '0': { at: NOW - 9000, records: 5, failed: false } }),
        worker('b', [0], { '0': { at: NOW - 1500, records: 2, failed: true } }),
      ],
      stats: [{ shard: 0, pending: 12, delayed: 3, oldestBufferedAt: NOW - 2500 }],
    },
    [],
    NOW,
  );
  const [tile] = status.shards;
  assert.equal(tile?.lastFlushAgeSeconds, 1.5);
  assert.equal(tile?.lastFlushRecords, 2);
  assert.equal(tile?.lastFlushFailed, true);
  assert.equal(tile?.pending, 12);
  assert.equal(tile?.retrying, 3);
  assert.equal(tile?.oldestAgeSeconds, 2.5);
});

test('members in ZooKeeper order with the shards the assignment gives them; the first is the leader', () => {
  const status = buildClusterStatus(
    {
      cluster: 'c',
      shards: 3,
      members: [
        { id: 'b', host: 'hb', version: '1.0.0', startTime: NOW - 10_000 },
        { id: 'a', host: 'ha', version: '1.1.0', startTime: NOW - 3_000 },
      ],
      assignment: { epoch: 2, owners: ['a', 'b', 'a'] },
      workers: [{ ...worker('a', [0, 2]), fenced: true }],
    },
    [],
    NOW,
  );
  assert.equal(status.leader, 'b');
  assert.deepEqual(
    status.members.map((m) => [m.id, m.version, m.ageSeconds, m.shards, m.fenced]),
    [
      ['b', '1.0.0', 10, [1], false],
      ['a', '1.1.0', 3, [0, 2], true],
    ],
  );
});

test('dead letters by count, the last check summed, ingest partitions in order', () => {
  const status = buildClusterStatus(
    {
      cluster: 'c',
      shards: 1,
      deadLetters: new Map([
        ['unmapped_table', 2],
        ['invalid_json', 9],
        ['ddl_not_applied', 2],
      ]),
      lastCheck: {
        id: 4,
        trigger: 'nightly',
        startedAt: NOW - 5000,
        finishedAt: NOW - 1000,
        tables: [
          { table: 'd.a', rows: 10, missing: 1, stale: 2, extra: 0 },
          { table: 'd.b', rows: 5, missing: 0, stale: 0, extra: 3 },
        ],
      },
      ingest: [
        {
          id: 'i1',
          host: 'h',
          version: '1',
          startTime: NOW,
          at: NOW,
          paused: false,
          partitions: [
            { topic: 't', partition: 2, lag: 5 },
            { topic: 't', partition: 0, lag: 1 },
          ],
        },
      ],
    },
    [],
    NOW,
  );
  assert.deepEqual(
    status.deadLetters.map((d) => d.reason),
    ['invalid_json', 'ddl_not_applied', 'unmapped_table'],
  );
  assert.deepEqual(status.lastCheck, {
    id: 4,
    trigger: 'nightly',
    finishedAt: NOW - 1000,
    tables: 2,
    rows: 15,
    differences: 6,
  });
  assert.deepEqual(
    status.ingest[0]?.partitions.map((p) => p.partition),
    [0, 2],
  );
});

test('a failing source empties its part and names it, credentials hidden; the other parts are kept', async () => {
  const status = await collectClusterStatus(
    {
      cluster: 'c',
      shards: 2,
      assignment: async () => ({ epoch: 3, owners: ['a', 'a'] }),
      deadLetters: async () => {
        throw new Error('connect ECONNREFUSED mysql://sluice:hunter2@db:3306/meta');
      },
    },
    NOW,
  );
  assert.equal(status.epoch, 3);
  assert.deepEqual(status.deadLetters, []);
  assert.deepEqual(status.errors, [
    { part: 'dead letters', message: 'connect ECONNREFUSED mysql://sluice:***@db:3306/meta' },
  ]);
});
