import assert from 'node:assert/strict';
import { test } from 'node:test';
import { shardKeys } from '@sluice/buffer';
import { loadSettings } from '@sluice/config';
import { ConfigError } from '@sluice/core';
import { compileWorkerOptions } from './options.ts';
import { WorkerStatus } from './status.ts';

const env = {
  SLUICE_KAFKA_BROKERS: '127.0.0.1:9092',
  SLUICE_REDIS_URL: 'redis://127.0.0.1:6379',
  SLUICE_META_MYSQL_URL: 'mysql://u:p@127.0.0.1:3306/sluice_meta',
  SLUICE_ES_URL: 'http://127.0.0.1:9200',
};

test('coordination is ZooKeeper when it is set, else the static shard list', () => {
  const zk = compileWorkerOptions(
    loadSettings({ env: { ...env, SLUICE_ZK_CONNECT: '127.0.0.1:2181' } }),
    'w',
  );
  assert.deepEqual(zk.coordination, { kind: 'zookeeper', connect: '127.0.0.1:2181' });
  const fixed = compileWorkerOptions(loadSettings({ env: { ...env, SLUICE_STATIC_SHARDS: '0-2,9' } }), 'w');
  assert.deepEqual(fixed.coordination, { kind: 'static', shards: [0, 1, 2, 9] });
  const all = compileWorkerOptions(loadSettings({ env }), 'w');
  assert.deepEqual(all.coordination, { kind: 'static', shards: all.allShards });
  assert.equal(all.allShards.length, 16);
});

test('a bad shard list is a setting error naming SLUICE_STATIC_SHARDS; both ways at once are refused at load', () => {
  assert.throws(
    () => compileWorkerOptions(loadSettings({ env: { ...env, SLUICE_STATIC_SHARDS: '3-1' } })),
    (e: unknown) => e instanceof ConfigError && /SLUICE_STATIC_SHARDS.*runs backwards/.test(e.message),
  );
  assert.throws(
    () => loadSettings({ env: { ...env, SLUICE_STATIC_SHARDS: '1', SLUICE_ZK_CONNECT: '127.0.0.1:2181' } }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /SLUICE_STATIC_SHARDS.*without ZooKeeper; SLUICE_ZK_CONNECT/.test(e.message),
  );
});

test("the shard lock lives in the shard's Redis Cluster slot, beside its buffer", () => {
  const options = compileWorkerOptions(loadSettings({ env: { ...env, SLUICE_CLUSTER: 'east' } }), 'w');
  const tag = (key: string) => /^\{[^}]+\}/.exec(key)?.[0];
  assert.equal(tag(options.lock.keyOf(7)), tag(shardKeys('sluice', 'east', 7).rec));
  assert.notEqual(options.lock.keyOf(7), options.lock.keyOf(8));
  assert.match(options.lock.keyOf(7), /:lock$/);
  assert.equal(options.flush.workerId, 'w');
});

test('status: not ready before joining, while fenced, or while a dependency fails; reports what the cluster says', async () => {
  let state: 'starting' | 'running' = 'starting';
  let fenced = false;
  let failing: string[] = [];
  const status = new WorkerStatus({
    workerId: 'w1',
    lifecycle: {
      get state() {
        return state;
      },
    },
    flushing: () => [3],
    stats: async (shards) =>
      shards.map((shard) => ({ shard, pending: 1, delayed: 0, oldestBufferedAt: null })),
    dependencies: () => failing,
  });
  assert.deepEqual(status.ready().reasons, ['state starting', 'not joined to the cluster yet']);
  assert.deepEqual(status.owned(), []);
  status.attach({
    manager: { owned: () => [3, 4], isFenced: () => fenced },
    coordinator: { isLeader: () => true, current: () => ({ epoch: 12, owners: [], shards: 16 }) },
  });
  state = 'running';
  assert.deepEqual(status.ready(), { ready: true, reasons: [] });
  failing = ['elasticsearch unreachable for 6 s: connect ECONNREFUSED'];
  assert.deepEqual(status.ready(), { ready: false, reasons: failing });
  failing = [];
  fenced = true;
  assert.deepEqual(status.ready().reasons, ['self-fenced: membership not proven']);
  const doc = (await status.status()) as Record<string, unknown>;
  assert.deepEqual(
    [doc.workerId, doc.leader, doc.epoch, doc.owned, doc.flushing, doc.fenced],
    ['w1', true, 12, [3, 4], [3], true],
  );
  assert.equal((doc.shards as unknown[]).length, 2);
});
