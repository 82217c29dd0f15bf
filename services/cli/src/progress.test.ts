import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderProgress } from './progress.ts';

test('a known total gives a bar, a share, counts, the rate and what is left; the unit defaults to rows', () => {
  assert.equal(
    renderProgress({ label: 'backfill shop.orders', done: 250, total: 1000, rate: 50 }, 8),
    'backfill shop.orders [##......] 25.0% 250 / ~1,000 rows, 50/s ETA 15s',
  );
  assert.equal(
    renderProgress({ label: 'loadtest', done: 3600, total: 7200, rate: 1, unit: 'operations' }, 4),
    'loadtest [##..] 50.0% 3,600 / ~7,200 operations, 1/s ETA 1h0m0s',
  );
});

test('an unknown total gives counts and the rate only', () => {
  assert.equal(
    renderProgress({ label: 'dlq replay', done: 12, total: 0, rate: 4, unit: 'entries' }),
    'dlq replay 12 entries, 4/s',
  );
});
