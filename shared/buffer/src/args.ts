// The KEYS and ARGV of every Lua script call of the buffer, pure (BullMQ's habit: an xxxArgs() beside
// each script). RedisBuffer sends what these return and decodes the replies, so argument order and
// chunking are tested without Redis (args.test.ts). Each builder follows the KEYS/ARGV header of its
// script in lua/; numbers stay numbers (ioredis sends them as decimal text).
import type { BufferEntry, ShardKeys } from './layout.ts';

/** One script call: KEYS, then ARGV, both in the order of the script's header. */
export interface ScriptCall {
  keys: string[];
  args: Array<string | number>;
}

/** A record a flush wrote, named by the version it wrote. */
export interface VersionedField {
  field: string;
  version: number;
}

/** Retry backoff of retry-later: min(maxMs, baseMs × 2^(attempts − 1)). */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/** Refuses what would break the loops: 0 or less never ends them, NaN (a missing size) sends nothing. */
function positiveInteger(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new RangeError(`${what} must be a positive integer, not ${value}`);
  }
  return value;
}

/** Splits `items` into runs of `size` in order, the last one possibly shorter; none for an empty list. */
export function chunked<T>(items: readonly T[], size: number): T[][] {
  positiveInteger(size, 'the chunk size');
  const runs: T[][] = [];
  for (let at = 0; at < items.length; at += size) runs.push(items.slice(at, at + size));
  return runs;
}

/**
 * upsert-if-newer-2.lua: one call per shard and run of at most `chunk` entries. KEYS rec, pending;
 * ARGV now, then field, version, value per entry. Shards in the order they first appear, entries in
 * input order. `keysOf` may throw (an unknown shard), and does so before any call exists.
 */
export function upsertIfNewerArgs(
  entries: readonly BufferEntry[],
  keysOf: (shard: number) => ShardKeys,
  now: number,
  chunk: number,
): ScriptCall[] {
  const byShard = new Map<number, BufferEntry[]>();
  for (const entry of entries) {
    const list = byShard.get(entry.shard);
    if (list) list.push(entry);
    else byShard.set(entry.shard, [entry]);
  }
  const calls: ScriptCall[] = [];
  for (const [shard, list] of byShard) {
    const { rec, pending } = keysOf(shard);
    for (const run of chunked(list, chunk)) {
      const args: Array<string | number> = [now];
      for (const e of run) args.push(e.field, e.version, e.value);
      calls.push({ keys: [rec, pending], args });
    }
  }
  return calls;
}

/** take-due-3.lua: KEYS rec, pending, delay; ARGV now, limit. */
export function takeDueArgs(keys: ShardKeys, now: number, limit: number): ScriptCall {
  return { keys: [keys.rec, keys.pending, keys.delay], args: [now, limit] };
}

/** The field, version pairs both ack-if-version and retry-later end their ARGV with. */
function pairs(items: readonly VersionedField[]): Array<string | number> {
  const args: Array<string | number> = [];
  for (const item of items) args.push(item.field, item.version);
  return args;
}

function allKeys(keys: ShardKeys): string[] {
  return [keys.rec, keys.pending, keys.delay, keys.attempts];
}

/**
 * ack-if-version-4.lua: one call per run of at most `chunk` items. KEYS rec, pending, delay, attempts;
 * ARGV field, version per item.
 */
export function ackIfVersionArgs(
  keys: ShardKeys,
  items: readonly VersionedField[],
  chunk: number,
): ScriptCall[] {
  return chunked(items, chunk).map((run) => ({ keys: allKeys(keys), args: pairs(run) }));
}

/**
 * retry-later-4.lua: one call per run of at most `chunk` items. KEYS rec, pending, delay, attempts;
 * ARGV now, baseMs, maxMs, then field, version per item.
 */
export function retryLaterArgs(
  keys: ShardKeys,
  items: readonly VersionedField[],
  now: number,
  backoff: Backoff,
  chunk: number,
): ScriptCall[] {
  return chunked(items, chunk).map((run) => ({
    keys: allKeys(keys),
    args: [now, backoff.baseMs, backoff.maxMs, ...pairs(run)],
  }));
}

/**
 * release-delayed-2.lua: KEYS pending, delay; ARGV now, limit. The caller repeats the call while it
 * moves `limit` fields, so the limit must be positive.
 */
export function releaseDelayedArgs(keys: ShardKeys, now: number, limit: number): ScriptCall {
  return { keys: [keys.pending, keys.delay], args: [now, positiveInteger(limit, 'the release limit')] };
}
