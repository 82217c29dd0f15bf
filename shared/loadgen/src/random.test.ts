import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seeded, zipf } from './random.ts';

test('the same seed gives the same sequence', () => {
  const a = seeded(42);
  const b = seeded(42);
  for (let i = 0; i < 100; i++) assert.equal(a(), b());
  const c = seeded(43);
  assert.notEqual(seeded(42)(), c());
});

test('zipf ranks follow 1/k^s: rank 1 about twice as frequent as rank 2 for s = 1', () => {
  const next = zipf(1000, 1, seeded(7));
  const counts = new Map<number, number>();
  for (let i = 0; i < 200_000; i++) {
    const r = next();
    counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  const first = counts.get(0) ?? 0;
  const second = counts.get(1) ?? 0;
  assert.ok(first / second > 1.8 && first / second < 2.2, `ratio ${first / second}`);
  assert.ok([...counts.keys()].every((k) => k >= 0 && k < 1000));
});
