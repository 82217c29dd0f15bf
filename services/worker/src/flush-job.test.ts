import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FencedError } from '@sluice/core';
import { memoryLogger } from '@sluice/runtime';
import { FlushJob, type ShardLocking } from './flush-job.ts';
import type { FlushGuard, FlushSummary } from './flush-runner.ts';
import type { LockOutcome } from './locks.ts';

const quiet = memoryLogger('silent').logger;
const summary = { batches: 1 } as FlushSummary;

/** A lock that is free (or held elsewhere) and hands the work a guard that runs the job's check. */
function lock(free = true): ShardLocking & { taken: number[] } {
  const taken: number[] = [];
  return {
    taken,
    async withLock<T>(shard: number, work: (g: FlushGuard) => Promise<T>, extra?: FlushGuard) {
      if (!free) return { acquired: false } as LockOutcome<T>;
      taken.push(shard);
      return { acquired: true, value: await work({ check: () => extra?.check() }) };
    },
  };
}

test('a flush runs under the shard lock and checks ownership before writing', async () => {
  const verified: number[] = [];
  const locks = lock();
  const job = new FlushJob({
    runner: {
      flushShard: async (_shard, guard) => {
        await guard.check();
        return summary;
      },
    },
    locks,
    ownership: () => ({ verify: async (shard) => void verified.push(shard) }),
    logger: quiet,
  });
  await job.run(4, new AbortController().signal);
  assert.deepEqual([locks.taken, verified], [[4], [4]]);
});

test('a closed schedule or lost ownership stops the flush as fenced, quietly; other errors are thrown', async () => {
  const closed = new AbortController();
  closed.abort();
  let wrote = false;
  const flushShard = async (_shard: number, guard: FlushGuard) => {
    await guard.check();
    wrote = true;
    return summary;
  };
  const job = new FlushJob({
    runner: { flushShard },
    locks: lock(),
    ownership: () => ({ verify: async () => undefined }),
    logger: quiet,
  });
  await job.run(1, closed.signal);
  assert.equal(wrote, false, 'nothing written after the schedule closed');

  const moved = new FlushJob({
    runner: { flushShard },
    locks: lock(),
    ownership: () => ({
      verify: async (shard) => {
        throw new FencedError(`shard ${shard} belongs to w2`);
      },
    }),
    logger: quiet,
  });
  await moved.run(1, new AbortController().signal);
  assert.equal(wrote, false);

  const broken = new FlushJob({
    runner: {
      flushShard: async () => {
        throw new Error('redis gone');
      },
    },
    locks: lock(),
    ownership: () => ({ verify: async () => undefined }),
    logger: quiet,
  });
  await assert.rejects(broken.run(1, new AbortController().signal), /redis gone/);
  assert.deepEqual(broken.flushing(), [], 'a failed flush is no longer listed');
});

test('the shards being flushed are listed while their flush runs; a busy lock runs nothing', async () => {
  let release: () => void = () => undefined;
  let seen: number[] = [];
  const job = new FlushJob({
    runner: {
      flushShard: async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        return summary;
      },
    },
    locks: lock(),
    ownership: () => ({ verify: async () => undefined }),
    logger: quiet,
  });
  const a = job.run(9, new AbortController().signal);
  await new Promise((resolve) => setImmediate(resolve));
  seen = job.flushing();
  release();
  await a;
  assert.deepEqual([seen, job.flushing()], [[9], []]);

  let ran = false;
  const busy = new FlushJob({
    runner: {
      flushShard: async () => {
        ran = true;
        return summary;
      },
    },
    locks: lock(false),
    ownership: () => ({ verify: async () => undefined }),
    logger: quiet,
  });
  await busy.run(2, new AbortController().signal);
  assert.equal(ran, false);
});
