import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeadLetter, DeadLetterFilter } from '@sluice/backup';
import { replayPending } from './replay.ts';

/** Dead letters in memory, listed as the repository lists them (id order, pending only, after an id). */
function store(count: number) {
  const entries = Array.from({ length: count }, (_, i) => ({
    id: i + 1,
    reason: i % 3 === 0 ? 'unmapped_table' : 'invalid_message',
    replayCount: 0,
  }));
  const calls: DeadLetterFilter[] = [];
  return {
    entries,
    calls,
    async list(filter: DeadLetterFilter = {}) {
      calls.push(filter);
      return entries
        .filter(
          (e) =>
            (!filter.pendingOnly || e.replayCount === 0) && (!filter.reason || e.reason === filter.reason),
        )
        .filter((e) => filter.afterId === undefined || e.id > filter.afterId)
        .slice(0, filter.limit ?? 100) as unknown as DeadLetter[];
    },
    async markReplayed(ids: readonly number[]) {
      for (const id of ids) (entries[id - 1] as { replayCount: number }).replayCount++;
      return ids.length;
    },
  };
}

test('replay --all goes through every pending entry, page by page, past any page or former limit', async () => {
  const letters = store(10_250);
  const pages: number[] = [];
  const outcomes = await replayPending(
    letters,
    async (entry) => ({ id: entry.id, ok: entry.id % 100 !== 0, detail: '' }),
    { pageSize: 1000, onPage: (done) => pages.push(done) },
  );
  assert.equal(outcomes.length, 10_250);
  assert.deepEqual(pages.slice(0, 2), [1000, 2000]);
  assert.equal(pages.at(-1), 10_250);
  assert.equal(letters.entries.filter((e) => e.replayCount === 1).length, 10_250 - 102);
  assert.equal(letters.entries.filter((e) => e.replayCount === 0).length, 102, 'failures stay pending');
  assert.equal(new Set(outcomes.map((o) => o.id)).size, 10_250, 'no entry is read twice');
});

test('with a reason, only its entries', async () => {
  const letters = store(30);
  const outcomes = await replayPending(letters, async (entry) => ({ id: entry.id, ok: true, detail: '' }), {
    reason: 'unmapped_table',
    pageSize: 4,
  });
  assert.deepEqual(
    outcomes.map((o) => o.id),
    [1, 4, 7, 10, 13, 16, 19, 22, 25, 28],
  );
  assert.ok(letters.calls.every((c) => c.reason === 'unmapped_table'));
});
