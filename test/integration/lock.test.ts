// shared/lock against the stack's Redis: mutual exclusion under 20 contenders with growing fencing
// tokens; a wait that times out with LockTimeoutError; a lease extended while its work runs longer
// than it; the work's own error passed on with the lock released; and a holder frozen past its lease
// (SIGSTOP of a real process): another takes the lock with a larger token, and the frozen one's
// signal fires as soon as it runs again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { LockLostError, LockService, LockTimeoutError } from '@sluice/lock';
import type { Redis } from 'ioredis';
import { deleteKeys, openRedis } from '../support/redis.ts';
import { repoRoot, stack } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

const prefix = uniqueName('locktest').toLowerCase();
const clients: Redis[] = [];
const client = () => {
  const c = openRedis();
  clients.push(c);
  return c;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

after(async () => {
  const redis = openRedis();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  for (const c of clients) c.disconnect();
});

test('20 contenders: one holder at a time, every one served, tokens growing in the order they held it', async () => {
  const key = `${prefix}:mutex`;
  let inside = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      new LockService(client(), { retryDelayMs: 20 }).withLock(
        key,
        async (lease) => {
          inside++;
          most = Math.max(most, inside);
          order.push(lease.token);
          await sleep(5 + (i % 4) * 5);
          lease.check();
          inside--;
        },
        { waitMs: 30_000, leaseMs: 2000 },
      ),
    ),
  );
  assert.equal(most, 1, 'never two holders at once');
  assert.equal(order.length, 20);
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    'tokens grow with each acquisition',
  );
  assert.equal(new Set(order).size, 20);
});

test('a wait longer than waitMs ends in LockTimeoutError, the holder undisturbed', async () => {
  const key = `${prefix}:wait`;
  const holder = new LockService(client());
  let release: () => void = () => undefined;
  const holding = holder.withLock(key, () => new Promise<void>((resolve) => (release = resolve)), {
    leaseMs: 2000,
  });
  await sleep(100);
  const started = Date.now();
  await assert.rejects(
    new LockService(client()).withLock(key, async () => 'never', { waitMs: 300, leaseMs: 1000 }),
    (error: unknown) => error instanceof LockTimeoutError && error.key === key,
  );
  const waited = Date.now() - started;
  assert.ok(waited >= 300 && waited < 2000, `waited ${waited} ms`);
  release();
  await holding;
  assert.equal(
    await new LockService(client()).withLock(key, async () => 'free again', { waitMs: 0 }),
    'free again',
  );
});

test('the lease is extended while the work runs past it; the work error passes through and frees the lock', async () => {
  const key = `${prefix}:extend`;
  const locks = new LockService(client());
  const other = new LockService(client());
  const result = await locks.withLock(
    key,
    async (lease) => {
      for (let i = 0; i < 5; i++) {
        await sleep(400); // 2 s in all, the lease is 600 ms
        const attempt = await other.tryWithLock(key, async () => 'stolen', 600);
        assert.deepEqual(attempt, { acquired: false }, 'still held');
        lease.check();
      }
      assert.equal(lease.signal.aborted, false);
      return 'done';
    },
    { leaseMs: 600 },
  );
  assert.equal(result, 'done');
  await assert.rejects(
    locks.withLock(key, async () => {
      throw new Error('the work failed');
    }),
    /the work failed/,
  );
  assert.deepEqual(await other.tryWithLock(key, async () => 'free', 600), { acquired: true, value: 'free' });
});

test('a holder frozen past its lease: the next holder gets a larger token, the frozen one is told at once', async () => {
  const key = `${prefix}:frozen`;
  const child = spawn(
    process.execPath,
    [`${repoRoot}test/support/lock-holder.ts`, stack().redisUrl, key, '1000'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const events: Array<{ event: string; token?: number; error?: string }> = [];
  createInterface({ input: child.stdout }).on('line', (line) => events.push(JSON.parse(line)));
  try {
    const acquired = await waitFor('the child to hold the lock', () =>
      events.find((e) => e.event === 'acquired'),
    );
    child.kill('SIGSTOP');
    // while it is frozen its lease runs out and another holder takes the lock
    const next = await new LockService(client()).withLock(key, async (lease) => lease.token, {
      waitMs: 5000,
      leaseMs: 1000,
    });
    assert.ok(next > (acquired.token as number), `token ${next} > ${acquired.token}`);
    child.kill('SIGCONT');
    const lost = await waitFor('the child to notice', () => events.find((e) => e.event === 'lost'), {
      timeoutMs: 5000,
    });
    assert.equal(lost.error, 'LockLostError');
    assert.equal(lost.token, acquired.token);
  } finally {
    child.kill('SIGCONT');
    child.kill('SIGTERM');
  }
});

test('LockLostError is a FencedError carrying the key and token', () => {
  const error = new LockLostError('k', 7, 'why');
  assert.equal(error.code, 'fenced');
  assert.match(error.message, /lock k \(token 7\) lost: why/);
});
