// TableResets with fakes of its narrow interfaces (the real servers: test/e2e/ddl.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResetSource, Sweep } from '@sluice/backup';
import type { BufferedRecord } from '@sluice/buffer';
import { KeyNotComparableError, type SourceRows } from '@sluice/checker';
import { Mapping } from '@sluice/core';
import { createLogger, createRegistry, flushMetrics } from '@sluice/runtime';
import type { EsApi, EsRequest } from '@sluice/sink';
import { TableResets } from './table-resets.ts';

const record = (pk: string, sourceTs: number, op: 'upsert' | 'delete' = 'upsert'): BufferedRecord => ({
  field: `shop.t|${pk}`,
  tableKey: 'shop.t',
  pk,
  version: 100 + Number(pk),
  sourceTs,
  op,
  json: op === 'delete' ? '' : '{"a":1}',
  bufferedAt: 0,
});

function rowsThatExist(ids: string[], calls: string[][] = []): SourceRows {
  return {
    async existing(_table, asked) {
      calls.push([...asked]);
      return new Set(asked.filter((id) => ids.includes(id)));
    },
  };
}

function fakeResets(sweeps: Sweep[], done: Sweep[] = []): ResetSource {
  return {
    fences: async () => new Map([['shop.t', 5000]]),
    pendingSweeps: async (shard) => sweeps.filter((s) => s.shard === shard),
    sweepDone: async (sweep) => {
      done.push(sweep);
    },
  };
}

/** An index with these (id, version) documents; records the bulk bodies it is sent. */
function fakeEs(docs: Array<[string, number]>, bulks: string[]): EsApi {
  return {
    major: 9,
    serverVersion: '9.2.4',
    async request<T>(req: EsRequest) {
      if (req.path.endsWith('/_search')) {
        const hits = docs.map(([id, version]) => ({ _id: id, _version: version }));
        return { statusCode: 200, body: { hits: { hits } } as T };
      }
      if (req.path === '/_bulk') {
        bulks.push(req.bulkBody ?? '');
        const items = (req.bulkBody ?? '')
          .trim()
          .split('\n')
          .map(() => ({ delete: { status: 200 } }));
        return { statusCode: 200, body: { errors: false, items } as T };
      }
      return { statusCode: 200, body: {} as T };
    },
    close: async () => undefined,
  };
}

function resets(overrides: { rows?: SourceRows; resets?: ResetSource; es?: EsApi; shards?: number } = {}) {
  const metrics = flushMetrics(createRegistry('test'));
  const deadLetters: unknown[] = [];
  const handler = new TableResets(
    {
      resets: overrides.resets ?? fakeResets([]),
      rows: overrides.rows ?? rowsThatExist([]),
      es: overrides.es ?? fakeEs([], []),
      mapping: new Mapping({ tables: { 'shop.t': null } }),
      deadLetters: { add: async (entries) => void deadLetters.push(...entries) },
      metrics,
      logger: createLogger('test', 'silent'),
    },
    { shards: overrides.shards ?? 16, bulkMaxBytes: 1 << 20 },
  );
  return { handler, metrics, deadLetters };
}

test('buffered upserts at or before the fence whose rows are gone become deletes at their version', async () => {
  const calls: string[][] = [];
  const { handler } = resets({ rows: rowsThatExist(['1'], calls) });
  const fences = new Map([['shop.t', 5000]]);
  const out = await handler.validate(
    [record('1', 4000), record('2', 5000), record('3', 5001), record('4', 1000, 'delete')],
    fences,
  );
  assert.deepEqual(
    out.map((r) => [r.pk, r.op, r.version, r.json]),
    [
      ['1', 'upsert', 101, '{"a":1}'],
      ['2', 'delete', 102, ''],
      ['3', 'upsert', 103, '{"a":1}'],
      ['4', 'delete', 104, ''],
    ],
  );
  assert.deepEqual(calls, [['1', '2']], 'only upserts at or before the fence are looked up');
  const untouched = [record('9', 1)];
  assert.equal(await handler.validate(untouched, new Map()), untouched, 'no fences: nothing to look up');
});

test('a sweep deletes, at the version it read, only documents whose rows are gone', async () => {
  const bulks: string[] = [];
  const done: Sweep[] = [];
  const sweep = { tableName: 'shop.t', shard: 3, fenceTs: 5000 };
  const { handler } = resets({
    rows: rowsThatExist(['2']),
    resets: fakeResets([sweep], done),
    es: fakeEs(
      [
        ['1', 11],
        ['2', 12],
        ['3', 13],
      ],
      bulks,
    ),
  });
  const fences = await handler.prepare(3, () => undefined);
  assert.equal(fences.get('shop.t'), 5000);
  const actions = bulks
    .join('')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { delete: { _id: string; version: number; version_type: string } });
  assert.deepEqual(
    actions.map((a) => [a.delete._id, a.delete.version, a.delete.version_type]),
    [
      ['1', 11, 'external_gte'],
      ['3', 13, 'external_gte'],
    ],
  );
  assert.deepEqual(done, [sweep]);
});

test('a fenced guard stops a sweep before it writes, and the sweep stays pending', async () => {
  const bulks: string[] = [];
  const done: Sweep[] = [];
  const { handler } = resets({
    resets: fakeResets([{ tableName: 'shop.t', shard: 0, fenceTs: 1 }], done),
    es: fakeEs([['1', 1]], bulks),
  });
  let checks = 0;
  await assert.rejects(
    handler.prepare(0, () => {
      if (++checks > 1) throw new Error('fenced');
    }),
    /fenced/,
  );
  assert.deepEqual(bulks, []);
  assert.deepEqual(done, []);
});

test('a key that cannot be compared is dead-lettered once instead of retried forever', async () => {
  const done: Sweep[] = [];
  const { handler, deadLetters } = resets({
    rows: {
      existing: async () => {
        throw new KeyNotComparableError('shop.t: key column k is of kind decimal');
      },
    },
    resets: fakeResets([{ tableName: 'shop.t', shard: 1, fenceTs: 1 }], done),
    es: fakeEs([['1', 1]], []),
  });
  await handler.prepare(1, () => undefined);
  assert.equal(done.length, 1);
  assert.deepEqual(
    deadLetters.map((d) => (d as { reason: string }).reason),
    ['truncate_not_applied'],
  );
  const kept = await handler.validate([record('1', 0)], new Map([['shop.t', 5]]));
  assert.equal(kept[0]?.op, 'upsert', 'written as it is when its row cannot be looked up');
});
