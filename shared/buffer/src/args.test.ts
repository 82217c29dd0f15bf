// The scripts' KEYS and ARGV without Redis: each builder against the KEYS/ARGV header of its Lua script
// (and the header against the script's body), chunk boundaries, and the values as the scripts read them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_GENERATION, MAX_OFFSET, makeVersion } from '@sluice/core';
import type { ScriptCall, VersionedField } from './args.ts';
import {
  ackIfVersionArgs,
  chunked,
  releaseDelayedArgs,
  retryLaterArgs,
  takeDueArgs,
  upsertIfNewerArgs,
} from './args.ts';
import { type BufferEntry, encodeValue, recordField, type ShardKeys, shardKeys, toEntry } from './layout.ts';
import { installScripts, type RedisLike, type ScriptName, scriptSource } from './scripts.ts';

const SCRIPTS: ScriptName[] = ['upsertIfNewer', 'takeDue', 'ackIfVersion', 'retryLater', 'releaseDelayed'];
const keysOf = (shard: number) => shardKeys('p', 'c', shard);
const keys = keysOf(3);
// Distinct numbers, so that two swapped arguments show.
const now = 1_700_000_000_123;
const limit = 25;
const backoff = { baseMs: 1000, maxMs: 60_000 };

const entry = (shard: number, pk: string, version: number): BufferEntry =>
  toEntry(
    { tableKey: 'shop.items', pk, version, sourceTs: 5000 + version, op: 'upsert' },
    shard,
    `{"v":${version}}`,
  );
const item = (pk: string, version: number): VersionedField => ({
  field: recordField('shop.items', pk),
  version,
});
const items = (count: number) => Array.from({ length: count }, (_, i) => item(`k${i}`, 100 + i));

interface Header {
  keys: string[];
  /** Names of the fixed ARGV, in order. */
  argv: string[];
  /** Names of the pair or triple repeated after them. */
  repeated: string[];
}

/** What a script's comment documents: `KEYS[i] name`, `ARGV[i] name`, `ARGV[i..] pairs: a, b`. */
function header(script: ScriptName): Header {
  const out: Header = { keys: [], argv: [], repeated: [] };
  for (const line of scriptSource(script).split('\n')) {
    const key = /^\s*KEYS\[(\d+)\]\s+(\w+)/.exec(line);
    if (key) {
      assert.equal(Number(key[1]), out.keys.length + 1, `${script}: KEYS numbered in order`);
      out.keys.push(key[2] as string);
    }
    const arg = /^\s*ARGV\[(\d+)(\.\.)?\]\s+(.*)$/.exec(line);
    if (!arg) continue;
    assert.equal(Number(arg[1]), out.argv.length + 1, `${script}: ARGV numbered in order`);
    assert.equal(out.repeated.length, 0, `${script}: the repeated ARGV come last`);
    if (arg[2]) {
      const names = /^(?:pairs|triples):\s*([\w\s,]+)/.exec(arg[3] as string)?.[1];
      assert.ok(names, `${script}: ARGV[${arg[1]}..] names its pairs or triples`);
      out.repeated = names.split(',').map((name) => name.trim());
    } else {
      out.argv.push(/^\w+/.exec(arg[3] as string)?.[0] ?? '');
    }
  }
  return out;
}

/** The call a header asks for: KEYS by name from the shard's keys, ARGV by name from `values` and `rows`. */
function documented(
  script: ScriptName,
  values: Record<string, number>,
  rows: ReadonlyArray<BufferEntry | VersionedField>,
): ScriptCall {
  const { keys: keyNames, argv, repeated } = header(script);
  const fixed = argv.map((name) => {
    assert.ok(name in values, `${script}: no value given for ARGV '${name}'`);
    return values[name] as number;
  });
  return {
    keys: keyNames.map((name) => keys[name as keyof ShardKeys]),
    args: [...fixed, ...rows.flatMap((row) => repeated.map((name) => row[name as keyof typeof row]))],
  };
}

describe('each builder puts KEYS and ARGV where the Lua header says', () => {
  test('upsert-if-newer', () => {
    const rows = [entry(3, 'a', 7), entry(3, 'b', 9)];
    assert.deepEqual(upsertIfNewerArgs(rows, keysOf, now, 500), [documented('upsertIfNewer', { now }, rows)]);
  });

  test('take-due', () => {
    assert.deepEqual(takeDueArgs(keys, now, limit), documented('takeDue', { now, limit }, []));
  });

  test('ack-if-version', () => {
    const rows = items(2);
    assert.deepEqual(ackIfVersionArgs(keys, rows, 500), [documented('ackIfVersion', {}, rows)]);
  });

  test('retry-later', () => {
    const rows = items(2);
    assert.deepEqual(retryLaterArgs(keys, rows, now, backoff, 500), [
      documented('retryLater', { now, ...backoff }, rows),
    ]);
  });

  test('release-delayed', () => {
    assert.deepEqual(releaseDelayedArgs(keys, now, limit), documented('releaseDelayed', { now, limit }, []));
  });
});

test('each Lua header agrees with how its script body reads KEYS and ARGV', () => {
  for (const script of SCRIPTS) {
    const source = scriptSource(script);
    const { keys: keyNames, argv, repeated } = header(script);
    const body = source.slice(source.indexOf(']]'));

    const keyLine = /^local ([\w, ]+) = (KEYS\[1\].*)$/m.exec(body);
    assert.deepEqual(keyLine?.[1]?.split(', '), keyNames, `${script}: KEYS read as documented`);
    assert.deepEqual(
      [...(keyLine?.[2] ?? '').matchAll(/KEYS\[(\d+)\]/g)].map((m) => Number(m[1])),
      keyNames.map((_, i) => i + 1),
    );

    const fixedLine = /^local [\w, ]+ = (.*ARGV\[1\].*)$/m.exec(body);
    assert.deepEqual(
      [...(fixedLine?.[1] ?? '').matchAll(/ARGV\[(\d+)\]/g)].map((m) => Number(m[1])),
      argv.map((_, i) => i + 1),
      `${script}: fixed ARGV read as documented`,
    );

    const loop = /for i = (\d+), #ARGV, (\d+) do/.exec(body);
    const rowLine = /^\s*local ([\w, ]+) = (ARGV\[i\].*)$/m.exec(body);
    if (repeated.length === 0) {
      assert.equal(loop, null, `${script}: no loop over ARGV`);
      continue;
    }
    assert.deepEqual(
      [Number(loop?.[1]), Number(loop?.[2])],
      [argv.length + 1, repeated.length],
      `${script}: the loop starts after the fixed ARGV and steps over one ${repeated.join(', ')}`,
    );
    assert.deepEqual(rowLine?.[1]?.split(', '), repeated, `${script}: each repeat read as documented`);
    assert.deepEqual(
      [...(rowLine?.[2] ?? '').matchAll(/ARGV\[i(?: \+ (\d+))?\]/g)].map((m) => Number(m[1] ?? 0)),
      repeated.map((_, i) => i),
    );
  }
});

test('each script is registered with as many keys as its header documents and its builder gives', () => {
  const numberOfKeys = new Map<string, number>();
  const client = {
    defineCommand(name: string, spec: { numberOfKeys: number }) {
      numberOfKeys.set(name, spec.numberOfKeys);
      Object.assign(client, { [name]: async () => null });
    },
  };
  installScripts(client as unknown as RedisLike);
  const built: Record<ScriptName, ScriptCall | undefined> = {
    upsertIfNewer: upsertIfNewerArgs([entry(3, 'a', 1)], keysOf, now, 500)[0],
    takeDue: takeDueArgs(keys, now, limit),
    ackIfVersion: ackIfVersionArgs(keys, items(1), 500)[0],
    retryLater: retryLaterArgs(keys, items(1), now, backoff, 500)[0],
    releaseDelayed: releaseDelayedArgs(keys, now, limit),
  };
  for (const script of SCRIPTS) {
    const count = header(script).keys.length;
    assert.equal(numberOfKeys.get(`sluice_${script}`), count, script);
    assert.equal(built[script]?.keys.length, count, script);
  }
});

describe('chunk boundaries', () => {
  test('chunked: empty, exact size, size + 1, several runs, size 1', () => {
    assert.deepEqual(chunked([], 3), []);
    assert.deepEqual(chunked([1, 2, 3], 3), [[1, 2, 3]]);
    assert.deepEqual(chunked([1, 2, 3, 4], 3), [[1, 2, 3], [4]]);
    assert.deepEqual(chunked([1, 2, 3, 4, 5, 6, 7], 3), [[1, 2, 3], [4, 5, 6], [7]]);
    assert.deepEqual(chunked([1, 2], 1), [[1], [2]]);
    assert.deepEqual(chunked([1, 2], 5), [[1, 2]]);
  });

  test('chunked refuses sizes that would loop forever or send nothing', () => {
    for (const size of [0, -1, 2.5, Number.NaN, undefined as unknown as number]) {
      assert.throws(() => chunked([1], size), RangeError, String(size));
    }
    assert.throws(() => releaseDelayedArgs(keys, now, 0), RangeError);
  });

  const runs = (calls: ScriptCall[], fixed: number, width: number) =>
    calls.map((call) => (call.args.length - fixed) / width);

  test('upsert-if-newer: no call for no entries; chunks count per shard', () => {
    assert.deepEqual(upsertIfNewerArgs([], keysOf, now, 3), []);
    const exact = [1, 2, 3].map((v) => entry(0, `a${v}`, v));
    assert.deepEqual(runs(upsertIfNewerArgs(exact, keysOf, now, 3), 1, 3), [3]);
    const over = [1, 2, 3, 4].map((v) => entry(0, `a${v}`, v));
    const calls = upsertIfNewerArgs(over, keysOf, now, 3);
    assert.deepEqual(runs(calls, 1, 3), [3, 1]);
    assert.deepEqual(calls[1], { keys: [keysOf(0).rec, keysOf(0).pending], args: [now, ...triple(over[3])] });
  });

  test('upsert-if-newer: shards in first-seen order, entries in input order, a shard per call', () => {
    const mixed = [entry(5, 'a', 1), entry(2, 'b', 2), entry(5, 'c', 3), entry(5, 'd', 4), entry(2, 'e', 5)];
    const calls = upsertIfNewerArgs(mixed, keysOf, now, 2);
    assert.deepEqual(
      calls.map((call) => call.keys[0]),
      [keysOf(5).rec, keysOf(5).rec, keysOf(2).rec],
    );
    assert.deepEqual(
      calls.map((call) => call.args),
      [
        [now, ...triple(mixed[0]), ...triple(mixed[2])],
        [now, ...triple(mixed[3])],
        [now, ...triple(mixed[1]), ...triple(mixed[4])],
      ],
    );
  });

  test('upsert-if-newer: an unknown shard fails the whole batch before any call', () => {
    const keysOfTwo = (shard: number) => {
      if (shard > 1) throw new RangeError(`shard ${shard}`);
      return keysOf(shard);
    };
    assert.throws(
      () => upsertIfNewerArgs([entry(0, 'a', 1), entry(7, 'b', 2)], keysOfTwo, now, 500),
      RangeError,
    );
  });

  test('ack-if-version: empty, exact size, size + 1, and nothing lost or reordered', () => {
    assert.deepEqual(ackIfVersionArgs(keys, [], 3), []);
    assert.deepEqual(runs(ackIfVersionArgs(keys, items(3), 3), 0, 2), [3]);
    const calls = ackIfVersionArgs(keys, items(7), 3);
    assert.deepEqual(runs(calls, 0, 2), [3, 3, 1]);
    for (const call of calls)
      assert.deepEqual(call.keys, [keys.rec, keys.pending, keys.delay, keys.attempts]);
    assert.deepEqual(
      calls.flatMap((call) => call.args),
      items(7).flatMap((i) => [i.field, i.version]),
    );
  });

  test('retry-later: every chunk repeats now and the backoff before its pairs', () => {
    assert.deepEqual(retryLaterArgs(keys, [], now, backoff, 3), []);
    assert.deepEqual(runs(retryLaterArgs(keys, items(3), now, backoff, 3), 3, 2), [3]);
    const calls = retryLaterArgs(keys, items(4), now, backoff, 3);
    assert.deepEqual(runs(calls, 3, 2), [3, 1]);
    assert.deepEqual(calls[1], {
      keys: [keys.rec, keys.pending, keys.delay, keys.attempts],
      args: [now, backoff.baseMs, backoff.maxMs, items(4)[3]?.field, 103],
    });
    assert.deepEqual(
      calls.flatMap((call) => call.args.slice(3)),
      items(4).flatMap((i) => [i.field, i.version]),
    );
  });
});

function triple(e: BufferEntry | undefined): Array<string | number> {
  assert.ok(e);
  return [e.field, e.version, e.value];
}

describe('values as the scripts read them', () => {
  const highest = makeVersion(MAX_GENERATION, MAX_OFFSET);
  const odd = [
    entry(1, 'plain', 1),
    entry(1, 'top', highest),
    toEntry(
      { tableKey: 'shop.items', pk: 'gone', version: 42, sourceTs: 1, op: 'delete' },
      1,
      '{"ignored":1}',
    ),
    toEntry(
      { tableKey: 'we|ird.t|able', pk: '7~A%3A1', version: 43, sourceTs: 2, op: 'upsert' },
      1,
      '{"a":"x|y","q":"\\"","nl":"\\n","u":"é€😀"}',
    ),
  ];

  test('upsert values go verbatim; each version is the decimal the script matches at the value start', () => {
    const [call] = upsertIfNewerArgs(odd, keysOf, now, 500);
    assert.ok(call);
    assert.equal(call.args[0], now);
    for (let i = 0; i < odd.length; i++) {
      const [field, version, value] = call.args.slice(1 + 3 * i, 4 + 3 * i);
      assert.equal(field, odd[i]?.field);
      assert.equal(value, odd[i]?.value);
      // ioredis sends numbers as String(n): no exponent or fraction, so Lua's tonumber reads it back exactly.
      assert.match(String(version), /^\d+$/);
      // upsert-if-newer, ack-if-version and retry-later compare ARGV's version with '^(%d+)|' of the value.
      assert.equal(/^(\d+)\|/.exec(String(value))?.[1], String(version));
    }
    assert.equal(call.args[5], 2 ** 53 - 1);
    assert.equal(call.args[9], encodeValue(42, 1, 'delete', ''), 'a delete carries no document');
  });

  test('fields and versions of acks and retries go verbatim', () => {
    const odd = [item('é€😀', 1), { field: recordField('we|ird.t|able', 'x'), version: highest }];
    assert.deepEqual(ackIfVersionArgs(keys, odd, 500)[0]?.args, [odd[0]?.field, 1, odd[1]?.field, highest]);
    assert.deepEqual(retryLaterArgs(keys, odd, now, backoff, 500)[0]?.args.slice(3), [
      odd[0]?.field,
      1,
      odd[1]?.field,
      highest,
    ]);
  });
});
