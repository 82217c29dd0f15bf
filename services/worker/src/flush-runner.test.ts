// FlushRunner's outcome logic on fakes of its narrow dependencies: a buffer in memory, an
// Elasticsearch that answers each document as the test says, and recorders for the backup, the dead
// letters and sync_monitor. Every outcome must settle the buffer and the backup as the header says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DeadLetterInput, FlushBatchReport, SettledRow } from '@sluice/backup';
import type { BufferedRecord, ShardBuffer, VersionedField } from '@sluice/buffer';
import { FencedError, Mapping } from '@sluice/core';
import { parseDeadLetterRecord } from '@sluice/pipeline';
import { createRegistry, flushMetrics, memoryLogger } from '@sluice/runtime';
import { type EsApi, type EsRequest, EsRequestError } from '@sluice/sink';
import { batchStatus, type FlushDeps, type FlushGuard, FlushRunner } from './flush-runner.ts';

const SHARD = 3;
const mapping = new Mapping(
  { unmapped: 'deadletter', exclude: ['shop.audit'], tables: { 'shop.items': { index: 'items' } } },
  't-',
);

const record = (pk: string, op: 'upsert' | 'delete' = 'upsert', tableKey = 'shop.items'): BufferedRecord => ({
  field: `${tableKey}|${pk}`,
  tableKey,
  pk,
  version: 100 + Number(pk.replace(/\D/g, '') || 0),
  sourceTs: Date.now() - 1000,
  op,
  json: op === 'delete' ? '' : JSON.stringify({ id: pk }),
  bufferedAt: 0,
});

class FakeBuffer implements ShardBuffer {
  due: BufferedRecord[][] = [];
  acked: VersionedField[] = [];
  retried: VersionedField[] = [];
  released = 0;
  takes: number[] = [];

  async takeDue(_shard: number, limit: number): Promise<BufferedRecord[]> {
    this.takes.push(limit);
    return this.due.shift() ?? [];
  }
  async ack(_shard: number, items: readonly VersionedField[]) {
    this.acked.push(...items);
    return { deleted: items.length, kept: 0 };
  }
  async retryLater(_shard: number, items: readonly VersionedField[]) {
    this.retried.push(...items);
    return new Map(items.map((i) => [i.field, 1]));
  }
  async releaseDelayed(): Promise<number> {
    this.released++;
    return 2;
  }
  async stats() {
    return [];
  }
}

type Answer = number | { status: number; type: string; reason?: string };

/** Elasticsearch as a function of each document's id; `fail` makes the whole request fail instead. */
class FakeEs implements EsApi {
  readonly major = 9;
  readonly serverVersion = '9.0.0';
  answers = new Map<string, Answer>();
  fail: ((req: EsRequest, attempt: number) => EsRequestError | undefined) | undefined;
  bulkCalls = 0;
  healthCalls = 0;
  bodies: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  async request<T>(req: EsRequest): Promise<{ statusCode: number; body: T }> {
    if (req.path === '/_cluster/health') {
      this.healthCalls++;
      const error = this.fail?.(req, this.healthCalls);
      if (error) throw error;
      return { statusCode: 200, body: {} as T };
    }
    this.bulkCalls++;
    const error = this.fail?.(req, this.bulkCalls);
    if (error) throw error;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, 5));
    this.inFlight--;
    this.bodies.push(req.bulkBody ?? '');
    const items = (req.bulkBody ?? '')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, { _id?: string }>)
      .filter((line) => line.index || line.delete)
      .map((line) => {
        const [action, meta] = Object.entries(line)[0] as [string, { _id: string; _index: string }];
        const answer = this.answers.get(`${meta._index}/${meta._id}`) ?? this.answers.get(meta._id) ?? 201;
        const item =
          typeof answer === 'number'
            ? {
                status: answer,
                ...(answer === 409 ? { error: { type: 'version_conflict_engine_exception' } } : {}),
              }
            : { status: answer.status, error: { type: answer.type, reason: answer.reason ?? '' } };
        return { [action]: item };
      });
    return { statusCode: 200, body: { errors: true, items } as T };
  }
  async close(): Promise<void> {}
}

function harness(
  options: {
    batchSize?: number;
    bulkConcurrency?: number;
    maxRetry?: number;
    bulkMaxBytes?: number;
    rebuilding?: ReadonlyMap<string, string>;
  } = {},
) {
  const buffer = new FakeBuffer();
  const es = new FakeEs();
  const settled: Array<{ state: string; rows: SettledRow[] }> = [];
  const deadLetters: DeadLetterInput[] = [];
  const reports: FlushBatchReport[] = [];
  const ensured: string[] = [];
  let ensureError: Error | undefined;
  let monitorError: Error | undefined;
  const { logger, lines: logs } = memoryLogger();
  const deps: FlushDeps = {
    buffer,
    backup: {
      settle: async (_shard, rows, state) => {
        settled.push({ state, rows: [...rows] });
        return rows.length;
      },
    },
    deadLetters: { add: async (entries) => void deadLetters.push(...entries) },
    monitor: {
      record: async (report) => {
        if (monitorError) throw monitorError;
        reports.push(report);
      },
    },
    es,
    indices: {
      ensure: async (spec) => {
        if (ensureError) throw ensureError;
        ensured.push(spec.name);
      },
    },
    mapping,
    metrics: flushMetrics(createRegistry('flush-test')),
    logger,
    ...(options.rebuilding
      ? { rebuilding: { current: async () => options.rebuilding as ReadonlyMap<string, string> } }
      : {}),
  };
  const runner = new FlushRunner(deps, {
    workerId: 'w1',
    batchSize: options.batchSize ?? 100,
    bulkConcurrency: options.bulkConcurrency ?? 1,
    windowMs: 60_000,
    maxRetry: options.maxRetry ?? 2,
    bulkMaxBytes: options.bulkMaxBytes ?? 1_000_000,
  });
  const synced = () =>
    settled.filter((s) => s.state === 'synced').flatMap((s) => s.rows.map((r) => r.primaryKey));
  const dead = () =>
    settled.filter((s) => s.state === 'dead').flatMap((s) => s.rows.map((r) => r.primaryKey));
  return {
    runner,
    buffer,
    es,
    deadLetters,
    reports,
    ensured,
    logs,
    synced,
    dead,
    failEnsure: (error: Error) => {
      ensureError = error;
    },
    failMonitor: (error: Error) => {
      monitorError = error;
    },
  };
}

const open: FlushGuard = { check: () => undefined };
const fields = (items: VersionedField[]) => items.map((i) => i.field.split('|')[1]).sort();

test('every item outcome settles its record: written, refused and absent are done, 429 waits, 400 is dead', async () => {
  const h = harness();
  h.buffer.due.push([record('1'), record('2'), record('3', 'delete'), record('4'), record('5')]);
  h.es.answers.set('2', 409);
  h.es.answers.set('3', 404);
  h.es.answers.set('4', 429);
  h.es.answers.set('5', { status: 400, type: 'mapper_parsing_exception', reason: 'failed to parse [qty]' });

  const summary = await h.runner.flushShard(SHARD, open);

  assert.deepEqual(
    [summary.written, summary.refused, summary.absent, summary.retried, summary.dead, summary.failed],
    [1, 1, 1, 1, 1, false],
  );
  assert.deepEqual(fields(h.buffer.acked), ['1', '2', '3', '5']);
  assert.deepEqual(fields(h.buffer.retried), ['4']);
  assert.deepEqual(h.synced().sort(), ['1', '2', '3']);
  assert.deepEqual(h.dead(), ['5']);
  assert.equal(
    h.buffer.acked.find((a) => a.field.endsWith('|1'))?.version,
    101,
    'acked at the version written',
  );
  assert.equal(h.deadLetters.length, 1);
  const letter = h.deadLetters[0] as DeadLetterInput;
  assert.deepEqual([letter.stage, letter.reason, letter.primaryKey], ['flush', 'es_mapping_error', '5']);
  assert.match(letter.detail, /mapper_parsing_exception: failed to parse \[qty\]/);
  assert.deepEqual(parseDeadLetterRecord(letter.payload as string), {
    tableKey: 'shop.items',
    pk: '5',
    version: 105,
    sourceTs: (parseDeadLetterRecord(letter.payload as string) as { sourceTs: number }).sourceTs,
    op: 'upsert',
    json: '{"id":"5"}',
  });
  assert.deepEqual(h.ensured, ['items']);
  assert.equal(h.reports[0]?.status, 'partial');
  assert.deepEqual([h.reports[0]?.succeeded, h.reports[0]?.retried, h.reports[0]?.dead], [3, 1, 1]);
});

test('records of tables the mapping now ignores are settled unwritten; unmapped ones are dead-lettered', async () => {
  const h = harness();
  h.buffer.due.push([record('1'), record('7', 'upsert', 'shop.audit'), record('8', 'upsert', 'shop.other')]);
  const summary = await h.runner.flushShard(SHARD, open);
  assert.deepEqual([summary.written, summary.ignored, summary.dead], [1, 1, 1]);
  assert.deepEqual(fields(h.buffer.acked), ['1', '7', '8']);
  assert.deepEqual(h.synced().sort(), ['1', '7']);
  assert.deepEqual(h.dead(), ['8']);
  assert.deepEqual(
    [h.deadLetters[0]?.reason, h.deadLetters[0]?.detail],
    ['unmapped_table', 'no mapping covers shop.other'],
  );
  assert.ok(!h.es.bodies.join('').includes('"_id":"7"'), 'nothing is written for an ignored table');
});

test('a request refused as a whole (400) is not retried: its records wait, the batch fails', async () => {
  const h = harness({ maxRetry: 3 });
  h.buffer.due.push([record('1'), record('2')]);
  h.es.fail = (req) =>
    req.path === '/_bulk' ? new EsRequestError('POST /_bulk', 400, 'bad request') : undefined;
  const summary = await h.runner.flushShard(SHARD, open);
  assert.equal(h.es.bulkCalls, 1);
  assert.deepEqual([summary.failed, summary.retried, summary.written], [true, 2, 0]);
  assert.deepEqual(fields(h.buffer.retried), ['1', '2']);
  assert.deepEqual(h.buffer.acked, []);
  assert.equal(h.reports[0]?.status, 'failed');
  assert.match(h.reports[0]?.error ?? '', /bad request/);
});

test('a busy Elasticsearch (503) is retried up to maxRetry, then the records wait with their backoff', async () => {
  const h = harness({ maxRetry: 2 });
  h.buffer.due.push([record('1')]);
  h.es.fail = (req) =>
    req.path === '/_bulk' ? new EsRequestError('POST /_bulk', 503, 'unavailable') : undefined;
  const summary = await h.runner.flushShard(SHARD, open);
  assert.equal(h.es.bulkCalls, 3);
  assert.deepEqual([summary.failed, summary.retried], [true, 1]);
  // Answered, so not unreachable: the next flush does not cut the backoff short.
  h.es.fail = undefined;
  await h.runner.flushShard(SHARD, open);
  assert.deepEqual([h.es.healthCalls, h.buffer.released], [0, 0]);
});

test('unreachable: once Elasticsearch answers again, what was put aside is due at once', async () => {
  const h = harness({ maxRetry: 1 });
  h.buffer.due.push([record('1')]);
  h.es.fail = () => new EsRequestError('POST /_bulk', 0, 'connect ECONNREFUSED');
  await h.runner.flushShard(SHARD, open);
  assert.deepEqual(fields(h.buffer.retried), ['1']);

  // Still down: the backoff stands.
  await h.runner.flushShard(SHARD, open);
  assert.deepEqual([h.es.healthCalls, h.buffer.released], [1, 0]);
  // Back: released once, and not again on the following flush.
  h.es.fail = undefined;
  await h.runner.flushShard(SHARD, open);
  assert.deepEqual([h.es.healthCalls, h.buffer.released], [2, 1]);
  await h.runner.flushShard(SHARD, open);
  assert.deepEqual([h.es.healthCalls, h.buffer.released], [2, 1]);
});

test('fenced between chunks: the written chunk is settled, the rest stays buffered untouched', async () => {
  const h = harness({ bulkMaxBytes: 1 }); // one operation per chunk
  h.buffer.due.push([record('1'), record('2'), record('3')]);
  let checks = 0;
  const guard: FlushGuard = {
    check: () => {
      // Checked before taking the batch, before chunk 1 and its request; fenced before chunk 2.
      if (++checks > 3) throw new FencedError('lock lost');
    },
  };
  await assert.rejects(h.runner.flushShard(SHARD, guard), FencedError);
  assert.deepEqual(fields(h.buffer.acked), ['1']);
  assert.deepEqual(h.synced(), ['1']);
  assert.deepEqual(h.buffer.retried, [], 'no backoff for records of a fenced flush');
  assert.equal(h.es.bulkCalls, 1);
  assert.equal(h.reports[0]?.retried, 0);
});

test('an index that cannot be made leaves every record of the batch waiting', async () => {
  const h = harness();
  h.buffer.due.push([record('1'), record('2', 'delete'), record('7', 'upsert', 'shop.audit')]);
  h.failEnsure(new Error('index template refused'));
  const summary = await h.runner.flushShard(SHARD, open);
  assert.equal(h.es.bulkCalls, 0);
  assert.deepEqual(fields(h.buffer.retried), ['1', '2']);
  assert.deepEqual(fields(h.buffer.acked), ['7'], 'the ignored record is settled all the same');
  assert.deepEqual([summary.failed, summary.retried], [true, 2]);
});

test('flushes full batches until one is short; a failed batch ends the flush', async () => {
  const h = harness({ batchSize: 2 });
  h.buffer.due.push([record('1'), record('2')], [record('3'), record('4')], [record('5')], [record('6')]);
  const summary = await h.runner.flushShard(SHARD, open);
  assert.deepEqual([summary.batches, summary.records, summary.written], [3, 5, 5]);
  assert.equal(h.buffer.due.length, 1, 'the batch after the short one waits for the next window');

  const failing = harness({ batchSize: 1, maxRetry: 0 });
  failing.buffer.due.push([record('1')], [record('2')]);
  failing.es.fail = () => new EsRequestError('POST /_bulk', 503, 'busy');
  const failed = await failing.runner.flushShard(SHARD, open);
  assert.deepEqual([failed.batches, failed.failed], [1, true]);
  assert.equal(failing.buffer.due.length, 1);
});

test('a take of batch size × concurrency records goes out as bulk requests side by side, each of batch size', async () => {
  const h = harness({ batchSize: 2, bulkConcurrency: 3 });
  h.buffer.due.push([record('1'), record('2'), record('3'), record('4'), record('5')]);
  const summary = await h.runner.flushShard(SHARD, open);
  assert.deepEqual([summary.batches, summary.records, summary.written], [1, 5, 5]);
  assert.equal(h.es.bulkCalls, 3);
  assert.equal(h.es.maxInFlight, 3, 'three requests in flight at once');
  assert.deepEqual(h.es.bodies.map((b) => b.split('\n').filter(Boolean).length / 2).sort(), [1, 2, 2]);
  assert.deepEqual(fields(h.buffer.acked).sort(), ['1', '2', '3', '4', '5']);
  assert.equal(h.buffer.takes.at(-1), 6, 'it asked for batch size × concurrency');
});

test('sync_monitor and the logs name a batch by the same id and its tables; a monitor failure does not fail the flush', async () => {
  const h = harness({ maxRetry: 0 });
  h.buffer.due.push([record('1')]);
  h.es.fail = () => new EsRequestError('POST /_bulk', 503, 'busy');
  await h.runner.flushShard(SHARD, open);
  const warned = h.logs.find((l) => l.msg === 'flush batch failed: records stay buffered');
  assert.ok(warned, 'the failed batch is logged');
  assert.equal(warned.batch, h.reports[0]?.batchId);
  assert.deepEqual(warned.tables, h.reports[0]?.tables);
  assert.ok((warned.tables as string[]).length > 0, 'the batch names its table');

  const quiet = harness();
  quiet.buffer.due.push([record('1')]);
  quiet.failMonitor(new Error('metadata database gone'));
  const summary = await quiet.runner.flushShard(SHARD, open);
  assert.equal(summary.written, 1);
  assert.deepEqual(fields(quiet.buffer.acked), ['1']);
  assert.ok(quiet.logs.some((l) => l.msg === 'could not record the flush in sync_monitor'));
});

test('fenced after a failed chunk: its records keep their state too (no backoff from a flush that lost the shard)', async () => {
  const h = harness({ bulkMaxBytes: 1, maxRetry: 0 });
  h.buffer.due.push([record('1'), record('2')]);
  h.es.fail = () => new EsRequestError('POST /_bulk', 503, 'busy');
  let checks = 0;
  const guard: FlushGuard = {
    check: () => {
      if (++checks > 3) throw new FencedError('assignment moved');
    },
  };
  await assert.rejects(h.runner.flushShard(SHARD, guard), FencedError);
  assert.equal(h.es.bulkCalls, 1);
  assert.deepEqual([h.buffer.retried, h.buffer.acked], [[], []]);
});

test('a bulk that succeeds ends the unreachable state even when the health probe did not answer', async () => {
  const h = harness({ maxRetry: 0 });
  h.buffer.due.push([record('1')]);
  h.es.fail = () => new EsRequestError('POST /_bulk', 0, 'connect ECONNREFUSED');
  await h.runner.flushShard(SHARD, open);
  // The probe times out but the bulk of a due record goes through.
  h.es.fail = (req) =>
    req.path === '/_cluster/health' ? new EsRequestError('GET /_cluster/health', 0, 'timeout') : undefined;
  h.buffer.due.push([record('2')]);
  await h.runner.flushShard(SHARD, open);
  assert.equal(h.es.healthCalls, 1);
  await h.runner.flushShard(SHARD, open);
  assert.equal(h.es.healthCalls, 1, 'no probe once a bulk went through');
});

test('while an index is rebuilt, each record is written to it as well and settles by the worse of its two writes', async () => {
  const h = harness({ rebuilding: new Map([['items', 'items-sluice-2']]) });
  h.buffer.due.push([record('1'), record('2'), record('3'), record('4'), record('5', 'delete')]);
  h.es.answers.set('items-sluice-2/2', { status: 400, type: 'mapper_parsing_exception', reason: 'bad' });
  h.es.answers.set('items-sluice-2/3', 429);
  h.es.answers.set('items/4', 409);
  h.es.answers.set('items-sluice-2/5', 404);

  const summary = await h.runner.flushShard(SHARD, open);

  const targets = h.es.bodies
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, { _index?: string; _id?: string }>)
    .flatMap((line) => Object.values(line).filter((meta) => meta._id !== undefined))
    .map((meta) => `${meta._index}/${meta._id}`);
  assert.deepEqual(
    targets.sort(),
    ['1', '2', '3', '4', '5'].flatMap((id) => [`items-sluice-2/${id}`, `items/${id}`]).sort(),
    'every record goes to the alias and to the index being built',
  );
  assert.deepEqual(
    [summary.written, summary.refused, summary.retried, summary.dead],
    [2, 1, 1, 1],
    'the own write gives the result (4 refused; the delete 5 written), a copy only makes it worse',
  );
  assert.deepEqual(fields(h.buffer.acked), ['1', '2', '4', '5']);
  assert.deepEqual(fields(h.buffer.retried), ['3'], 'retried because the copy must be written too');
  assert.deepEqual(h.dead(), ['2']);
  assert.match(
    (h.deadLetters[0] as DeadLetterInput).detail,
    /^reindex target items-sluice-2: mapper_parsing_exception/,
  );
});

test('without a rebuild nothing is written twice', async () => {
  const h = harness({ rebuilding: new Map([['t-other', 't-other-sluice-1']]) });
  h.buffer.due.push([record('1')]);
  await h.runner.flushShard(SHARD, open);
  assert.equal(h.es.bodies.join('').split('\n').filter(Boolean).length, 2);
});

test("a batch's sync_monitor status: ok only when every record is done; dead letters or waiting records make it partial", () => {
  const record = {} as never;
  const dead = [{}] as never[];
  assert.equal(batchStatus({ done: [record], dead: [], retryLater: [], error: undefined }), 'ok');
  assert.equal(batchStatus({ done: [record], dead, retryLater: [], error: undefined }), 'partial');
  assert.equal(batchStatus({ done: [], dead: [], retryLater: [record], error: undefined }), 'partial');
  assert.equal(batchStatus({ done: [record], dead: [], retryLater: [], error: 'refused' }), 'partial');
  assert.equal(batchStatus({ done: [], dead: [], retryLater: [record], error: 'refused' }), 'failed');
});
