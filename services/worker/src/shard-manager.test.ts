// ShardManager with fakes of what it uses: an Ownership emitter, the scheduler's and the recovery's
// methods (structural fakes of the concrete classes), real metrics and a logger into memory. Time is
// mock.timers (the fence check and the retry are timers); promises settle with setImmediate.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { shardLabel } from '@sluice/core';
import type { Recovery, RecoveryResult } from '@sluice/pipeline';
import { flushMetrics, memoryLogger, Registry } from '@sluice/runtime';
import type { FlushScheduler, ShardJob } from './scheduler.ts';
import { type Ownership, ShardManager } from './shard-manager.ts';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval'] }));
afterEach(() => mock.timers.reset());

/** Lets every pending promise chain run (the fakes never wait on a timer). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The events of a shard gained with a successful recovery, in the order they must happen. */
const gained = (...shards: number[]) =>
  shards.flatMap((s) => [`recover ${s}`, `recovered ${s}`, `own ${s}`, `flush ${s}`]);

class FakeOwnership extends EventEmitter implements Ownership {
  shards: number[];
  fresh = true;

  constructor(shards: number[]) {
    super();
    this.shards = shards;
  }

  owned(): number[] {
    return [...this.shards];
  }

  async verify(): Promise<void> {}

  isFresh(): boolean {
    return this.fresh;
  }

  assign(shards: number[]): void {
    this.shards = shards;
    this.emit('assignment');
  }
}

type SchedulerPart = Pick<FlushScheduler, 'own' | 'release' | 'releaseAll' | 'fenceAll' | 'flushNow'>;

interface Knobs {
  /** Rebuffered count per shard, or an error its recovery throws. */
  recovered?: Record<number, number | Error>;
  /** A promise that recovery of the shard waits for. */
  recoveryGate?: Record<number, Promise<void>>;
  /** Errors release() rejects with, used up one per call. */
  releaseErrors?: Record<number, Error[]>;
  fenceError?: Error;
  flushError?: Error;
}

function harness(owned: number[], knobs: Knobs = {}) {
  const events: string[] = [];
  const jobs: ShardJob[] = [];
  const ownership = new FakeOwnership(owned);
  const scheduler: SchedulerPart = {
    own(shard, job) {
      events.push(`own ${shard}`);
      jobs.push(job);
    },
    async release(shard) {
      events.push(`release ${shard}`);
      await null;
      const error = knobs.releaseErrors?.[shard]?.shift();
      if (error) throw error;
      events.push(`released ${shard}`);
    },
    async releaseAll() {
      events.push('releaseAll');
    },
    async fenceAll(reason) {
      events.push(`fenceAll ${reason}`);
      await null;
      if (knobs.fenceError) throw knobs.fenceError;
    },
    async flushNow(shard, job) {
      events.push(`flush ${shard}`);
      jobs.push(job);
      if (knobs.flushError) throw knobs.flushError;
    },
  };
  const recovery: Pick<Recovery, 'recoverShard'> = {
    async recoverShard(shard): Promise<RecoveryResult> {
      events.push(`recover ${shard}`);
      await (knobs.recoveryGate?.[shard] ?? null);
      const outcome = knobs.recovered?.[shard] ?? 0;
      if (outcome instanceof Error) throw outcome;
      events.push(`recovered ${shard}`);
      return { scanned: outcome, rebuffered: outcome };
    },
  };
  const { logger, lines } = memoryLogger('info');
  const metrics = flushMetrics(new Registry());
  const job: ShardJob = async () => {};
  const manager = new ShardManager({
    ownership,
    scheduler: scheduler as FlushScheduler,
    recovery: recovery as Recovery,
    job,
    metrics,
    logger,
  });
  const ownedGauge = async () =>
    Object.fromEntries((await metrics.owned.get()).values.map((v) => [v.labels.shard, v.value]));
  const counted = async (counter: 'recovered' | 'rebalances') =>
    (await metrics[counter].get()).values[0]?.value ?? 0;
  const logged = (level: string) => lines.filter((l) => l.level === level).map((l) => l.msg);
  return { manager, ownership, events, jobs, job, metrics, ownedGauge, counted, logged };
}

test('start recovers each owned shard from the backup before scheduling it, in shard order, then flushes it', async () => {
  const h = harness([3, 1], { recovered: { 1: 0, 3: 4 } });
  await h.manager.start();
  assert.deepEqual(h.events, gained(1, 3));
  assert.deepEqual(h.manager.owned(), [1, 3]);
  assert.deepEqual(h.jobs, [h.job, h.job, h.job, h.job], 'the configured job is scheduled and flushed');
  assert.deepEqual(await h.ownedGauge(), { [shardLabel(1)]: 1, [shardLabel(3)]: 1 });
  assert.equal(await h.counted('recovered'), 4);
  assert.equal(await h.counted('rebalances'), 1);
  await h.manager.stop();
});

test('a shard whose recovery fails is still scheduled and flushed (the sweep retries the recovery)', async () => {
  const h = harness([1, 2], { recovered: { 1: new Error('backup down') } });
  await h.manager.start();
  assert.deepEqual(h.events, ['recover 1', 'own 1', 'flush 1', ...gained(2)]);
  assert.deepEqual(h.manager.owned(), [1, 2]);
  assert.deepEqual(h.logged('warn'), ['recovery of a gained shard failed; the periodic sweep will retry']);
  await h.manager.stop();
});

test('a failing first flush is logged and the shard stays owned', async () => {
  const h = harness([5], { flushError: new Error('es down') });
  await h.manager.start();
  await settle();
  assert.deepEqual(h.manager.owned(), [5]);
  assert.deepEqual(h.logged('warn'), ['first flush failed']);
  await h.manager.stop();
});

test('an assignment releases the shards lost and recovers then schedules the ones gained; kept ones are untouched', async () => {
  const h = harness([1, 2]);
  await h.manager.start();
  for (const shard of [1, 2]) {
    h.metrics.pending.set({ shard: shardLabel(shard) }, 10);
    h.metrics.oldestAge.set({ shard: shardLabel(shard) }, 2);
  }
  h.events.length = 0;
  h.ownership.assign([2, 4]);
  await settle();
  assert.deepEqual(h.events, ['release 1', 'released 1', ...gained(4)]);
  for (const gaugeName of ['pending', 'oldestAge'] as const) {
    const shards = (await h.metrics[gaugeName].get()).values.map((v) => v.labels.shard);
    assert.deepEqual(shards, [shardLabel(2)], `${gaugeName}: the released shard's series is gone`);
  }
  assert.deepEqual(h.manager.owned(), [2, 4]);
  assert.deepEqual(await h.ownedGauge(), { [shardLabel(2)]: 1, [shardLabel(4)]: 1 }, 'shard 1 has no series');
  assert.equal(await h.counted('rebalances'), 2);
  await h.manager.stop();
});

test('an assignment that changes nothing does nothing, and a rejoin brings the schedules in line', async () => {
  const h = harness([1]);
  await h.manager.start();
  h.events.length = 0;
  h.ownership.emit('assignment');
  await settle();
  assert.deepEqual(h.events, []);
  assert.equal(await h.counted('rebalances'), 1);

  h.ownership.shards = [];
  h.ownership.emit('rejoined');
  await settle();
  assert.deepEqual(h.events, ['release 1', 'released 1']);
  assert.deepEqual(h.manager.owned(), []);
  await h.manager.stop();
});

test('assignments are applied one after another: the next waits for the recovery in progress', async () => {
  const gate = deferred();
  const h = harness([], { recoveryGate: { 1: gate.promise } });
  await h.manager.start();
  h.ownership.assign([1]);
  await settle();
  h.ownership.assign([2]);
  await settle();
  assert.deepEqual(h.events, ['recover 1'], 'nothing else starts while shard 1 is being recovered');
  gate.resolve();
  await settle();
  assert.deepEqual(h.events, [...gained(1), 'release 1', 'released 1', ...gained(2)]);
  assert.deepEqual(h.manager.owned(), [2]);
  await h.manager.stop();
});

test('a failed release keeps the shard, is logged, and the whole assignment is retried a second later', async () => {
  const h = harness([1], { releaseErrors: { 1: [new Error('redis down')] } });
  await h.manager.start();
  h.events.length = 0;
  h.ownership.assign([2]);
  await settle();
  assert.deepEqual(h.events, ['release 1']);
  assert.deepEqual(h.manager.owned(), [1], 'the shard is not given up while its worker may still run');
  assert.deepEqual(h.logged('error'), ['applying the assignment failed; retrying']);

  mock.timers.tick(999);
  await settle();
  assert.deepEqual(h.events, ['release 1'], 'not retried before the second is up');
  mock.timers.tick(1);
  await settle();
  assert.deepEqual(h.events, ['release 1', 'release 1', 'released 1', ...gained(2)]);
  assert.deepEqual(h.manager.owned(), [2]);
  await h.manager.stop();
});

test('a stale session fences every flush at once; while fenced nothing is scheduled; fresh again, shards are recovered and resumed', async () => {
  const h = harness([1, 2]);
  await h.manager.start(100);
  h.events.length = 0;

  h.ownership.fresh = false;
  mock.timers.tick(100);
  assert.equal(h.manager.isFenced(), true);
  await settle();
  assert.deepEqual(h.events, ['fenceAll self-fenced']);
  assert.deepEqual(h.manager.owned(), []);
  assert.deepEqual(await h.ownedGauge(), {}, 'a fenced worker exports no shard as owned');
  assert.deepEqual(h.logged('warn'), [
    'cannot prove membership any more: stopping every flush (self-fencing)',
  ]);

  mock.timers.tick(100);
  h.ownership.assign([1, 2, 3]);
  await settle();
  assert.deepEqual(h.events, ['fenceAll self-fenced'], 'fenced once, and no shard taken while fenced');

  h.ownership.fresh = true;
  mock.timers.tick(100);
  await settle();
  assert.equal(h.manager.isFenced(), false);
  assert.deepEqual(h.events.slice(1), gained(1, 2, 3));
  assert.deepEqual(h.manager.owned(), [1, 2, 3]);
  await h.manager.stop();
});

test('the fence check runs at the interval given to start', async () => {
  const h = harness([1]);
  await h.manager.start(500);
  h.ownership.fresh = false;
  mock.timers.tick(499);
  assert.equal(h.manager.isFenced(), false);
  mock.timers.tick(1);
  assert.equal(h.manager.isFenced(), true);
  await h.manager.stop();
});

test('stop waits for the assignment in progress, then releases everything; afterwards nothing is applied or fenced', async () => {
  const gate = deferred();
  const h = harness([], { recoveryGate: { 1: gate.promise } });
  await h.manager.start(100);
  h.ownership.assign([1]);
  await settle();
  let stopped = false;
  const stopping = h.manager.stop().then(() => {
    stopped = true;
  });
  await settle();
  assert.equal(stopped, false);
  assert.deepEqual(h.events, ['recover 1'], 'releaseAll waits for the shard being gained');
  gate.resolve();
  await stopping;
  assert.deepEqual(h.events, [...gained(1), 'releaseAll']);
  assert.deepEqual(h.manager.owned(), []);

  h.events.length = 0;
  h.ownership.assign([2]);
  h.ownership.fresh = false;
  mock.timers.tick(1000);
  await settle();
  assert.deepEqual(h.events, []);
  assert.equal(h.manager.isFenced(), false);
});

test('a retry due after stop applies nothing', async () => {
  const h = harness([1], { releaseErrors: { 1: [new Error('redis down')] } });
  await h.manager.start();
  h.ownership.assign([2]);
  await settle();
  assert.deepEqual(h.logged('error'), ['applying the assignment failed; retrying']);
  h.events.length = 0;
  await h.manager.stop();
  mock.timers.tick(1000);
  await settle();
  assert.deepEqual(h.events, ['releaseAll']);
});
