import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetriesExceededError, SluiceError } from './errors.ts';
import { backoffDelay, retry } from './retry.ts';

test('retries until success', async () => {
  let calls = 0;
  const value = await retry(
    'flaky',
    async () => {
      calls++;
      if (calls < 3) throw new Error('not yet');
      return 'done';
    },
    { baseDelayMs: 1 },
  );
  assert.equal(value, 'done');
  assert.equal(calls, 3);
});

test('gives up after the attempts with the last cause kept', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      'always failing',
      async () => {
        calls++;
        throw new Error(`failure ${calls}`);
      },
      { attempts: 4, baseDelayMs: 1 },
    ),
    (error: unknown) => {
      assert.ok(error instanceof RetriesExceededError);
      assert.equal(error.attempts, 4);
      assert.equal((error.cause as Error).message, 'failure 4');
      return true;
    },
  );
  assert.equal(calls, 4);
});

test('a non-retriable error bails at once', async () => {
  let calls = 0;
  const fatal = new SluiceError('bad request', { code: 'x', retriable: false });
  await assert.rejects(
    retry(
      'bail',
      async () => {
        calls++;
        throw fatal;
      },
      { baseDelayMs: 1 },
    ),
    (error) => error === fatal,
  );
  assert.equal(calls, 1);
});

test('backoff grows exponentially, is capped and jittered within [ceiling/2, ceiling]', () => {
  assert.equal(
    backoffDelay(1, 100, 10_000, () => 0),
    50,
  );
  assert.equal(
    backoffDelay(1, 100, 10_000, () => 0.999999),
    100,
  );
  assert.equal(
    backoffDelay(4, 100, 10_000, () => 0),
    400,
  );
  assert.equal(
    backoffDelay(30, 100, 10_000, () => 0),
    5000,
  );
  assert.equal(
    backoffDelay(30, 100, 10_000, () => 0.999999),
    10_000,
  );
});
