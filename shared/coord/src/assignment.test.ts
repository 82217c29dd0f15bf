import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Assignment,
  computeAssignment,
  decodeAssignment,
  emptyAssignment,
  encodeAssignment,
  movedShards,
  shardsOf,
} from './assignment.ts';

function counts(a: Assignment, members: readonly string[]): number[] {
  return members.map((m) => shardsOf(a, m).length);
}

function assertBalanced(a: Assignment, members: readonly string[]): void {
  assert.ok(
    a.owners.every((o) => members.includes(o)),
    'every shard has a live owner',
  );
  const c = counts(a, members);
  assert.ok(Math.max(...c) - Math.min(...c) <= 1, `balanced within one: ${c}`);
}

/** The fewest moves any balanced assignment needs: orphans plus the surplus above the new quotas. */
function lowerBound(before: Assignment, members: readonly string[]): number {
  const live = new Set(members);
  const orphans = before.owners.filter((o) => !live.has(o)).length;
  const held = members.map((m) => shardsOf(before, m).length).sort((x, y) => y - x);
  const base = Math.floor(before.shards / members.length);
  let larger = before.shards % members.length;
  let surplus = 0;
  for (const h of held) {
    const cap = base + (larger-- > 0 ? 1 : 0);
    surplus += Math.max(0, h - cap);
  }
  return orphans + surplus;
}

test('the first assignment spreads 16 shards over 3 members as 6/5/5', () => {
  const members = ['a', 'b', 'c'];
  const a = computeAssignment(emptyAssignment(16), members);
  assertBalanced(a, members);
  assert.deepEqual(counts(a, members).sort(), [5, 5, 6]);
  assert.equal(a.epoch, 1);
});

test('scaling 3 → 5 → 2 → 4 moves exactly the necessary shards and stays balanced', () => {
  let a = computeAssignment(emptyAssignment(16), ['a', 'b', 'c']);
  const steps: string[][] = [
    ['a', 'b', 'c', 'd', 'e'],
    ['b', 'e'],
    ['b', 'e', 'f', 'g'],
  ];
  for (const members of steps) {
    const next = computeAssignment(a, members);
    assertBalanced(next, members);
    assert.equal(movedShards(a, next), lowerBound(a, members), `moves for ${members}`);
    assert.equal(next.epoch, a.epoch + 1);
    a = next;
  }
});

test('sticky: an unchanged membership changes nothing, not even the epoch', () => {
  const members = ['a', 'b', 'c'];
  const a = computeAssignment(emptyAssignment(16), members);
  const again = computeAssignment(a, members);
  assert.deepEqual(again, a);
});

test('a member leaving hands only its own shards to the others', () => {
  const a = computeAssignment(emptyAssignment(16), ['a', 'b', 'c', 'd']);
  const b = computeAssignment(a, ['a', 'b', 'd']);
  for (let shard = 0; shard < 16; shard++) {
    if (a.owners[shard] !== 'c') assert.equal(b.owners[shard], a.owners[shard], `shard ${shard} stays`);
  }
  assertBalanced(b, ['a', 'b', 'd']);
});

test('deterministic and covering many random sequences', () => {
  let seed = 3;
  const random = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  let a = emptyAssignment(16);
  let pool = ['m1', 'm2', 'm3'];
  for (let step = 0; step < 200; step++) {
    if (random() < 0.5 && pool.length > 1) {
      const gone = Math.floor(random() * pool.length);
      pool = pool.filter((_, index) => index !== gone);
    } else {
      pool = [...pool, `m${step + 10}`];
    }
    const next = computeAssignment(a, pool);
    assert.deepEqual(computeAssignment(a, pool), next, 'same inputs, same result');
    assertBalanced(next, pool);
    assert.equal(movedShards(a, next), lowerBound(a, pool));
    a = next;
  }
});

test('no members: every shard is unowned', () => {
  const a = computeAssignment(emptyAssignment(4), ['a']);
  const none = computeAssignment(a, []);
  assert.deepEqual(none.owners, ['', '', '', '']);
  assert.equal(none.epoch, a.epoch + 1);
});

test('assignments round-trip through the ZooKeeper node; a shard-count mismatch is refused', () => {
  const a = computeAssignment(emptyAssignment(16), ['a', 'b']);
  assert.deepEqual(decodeAssignment(encodeAssignment(a, { leader: 'a' }), 16), a);
  assert.deepEqual(decodeAssignment(Buffer.alloc(0), 8), emptyAssignment(8));
  assert.throws(() => decodeAssignment(encodeAssignment(a), 8), /runs 16 shards/);
  assert.throws(() => decodeAssignment(Buffer.from('{"x":1}'), 16), /epoch/);
});
