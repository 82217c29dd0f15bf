import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FencedError, RetriesExceededError, retry } from '@sluice/core';
import { EsRequestError, isUnreachable, statusOfClientError } from './request-errors.ts';

test('request errors are retriable for no response, 429 and 5xx only', () => {
  const retriable = (status: number) => new EsRequestError('POST /_bulk', status, new Error('x')).retriable;
  assert.deepEqual([0, 429, 500, 503].map(retriable), [true, true, true, true]);
  assert.deepEqual([400, 401, 403, 404, 413].map(retriable), [false, false, false, false, false]);
});

test('only a request without a response is "unreachable", also when retries ended with one', () => {
  const none = new EsRequestError('GET /', 0, new Error('connect ECONNREFUSED'));
  const busy = new EsRequestError('GET /', 503, new Error('unavailable'));
  assert.equal(isUnreachable(none), true);
  assert.equal(isUnreachable(busy), false);
  assert.equal(isUnreachable(new RetriesExceededError('bulk', 3, none)), true);
  assert.equal(isUnreachable(new RetriesExceededError('bulk', 3, busy)), false);
  assert.equal(isUnreachable(new Error('connect ECONNREFUSED')), false);
});

test("the client's status is read from its error shape, 0 when absent", () => {
  assert.equal(statusOfClientError({ meta: { statusCode: 429 } }), 429);
  assert.equal(statusOfClientError({ meta: { statusCode: null } }), 0);
  assert.equal(statusOfClientError(new Error('reset')), 0);
  assert.equal(statusOfClientError(null), 0);
});

test('retry follows the hierarchy: request errors by status, fencing never retried', async () => {
  const attemptsUntilGivenUp = async (error: Error) => {
    let attempts = 0;
    await retry(
      'x',
      async () => {
        attempts++;
        throw error;
      },
      { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 },
    ).catch(() => undefined);
    return attempts;
  };
  assert.equal(await attemptsUntilGivenUp(new EsRequestError('POST /_bulk', 503, 'busy')), 3);
  assert.equal(await attemptsUntilGivenUp(new EsRequestError('POST /_bulk', 400, 'bad')), 1);
  assert.equal(await attemptsUntilGivenUp(new FencedError('lock lost')), 1);
});
