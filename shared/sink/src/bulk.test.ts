import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BulkOp, buildBulkChunks } from './bulk-build.ts';
import { classifyBulkResponse, classifyItem } from './bulk-classify.ts';

const upsert = (id: string, version = 1, json = '{"a":1}'): BulkOp => ({
  ref: `f-${id}`,
  index: 'shop.t',
  id,
  version,
  op: 'upsert',
  json,
});
const del = (id: string, version = 1): BulkOp => ({ ...upsert(id, version), op: 'delete', json: '' });

test('operations carry the external version; deletes have no source line', () => {
  const [chunk] = buildBulkChunks([upsert('1', 7), del('2', 9)], 1 << 20);
  assert.equal(
    chunk?.body,
    '{"index":{"_index":"shop.t","_id":"1","version":7,"version_type":"external"}}\n{"a":1}\n' +
      '{"delete":{"_index":"shop.t","_id":"2","version":9,"version_type":"external"}}\n',
  );
  assert.equal(chunk?.bytes, Buffer.byteLength(chunk?.body ?? ''));
});

test('chunks respect the byte limit, keep order, and an oversized op goes alone', () => {
  const ops = [upsert('1'), upsert('2'), upsert('3', 1, `{"big":"${'x'.repeat(500)}"}`), upsert('4')];
  const chunks = buildBulkChunks(ops, 200);
  assert.deepEqual(
    chunks.map((c) => c.ops.map((o) => o.id)),
    [['1', '2'], ['3'], ['4']],
  );
  for (const c of chunks) if (c.ops.length > 1) assert.ok(c.bytes <= 200);
  assert.deepEqual(buildBulkChunks([], 100), []);
});

test('item statuses map to done, retry or dead', () => {
  assert.deepEqual(classifyItem(upsert('1'), { status: 201 }), { kind: 'done', result: 'written' });
  assert.deepEqual(classifyItem(upsert('1'), { status: 200 }), { kind: 'done', result: 'written' });
  assert.deepEqual(
    classifyItem(upsert('1'), { status: 409, error: { type: 'version_conflict_engine_exception' } }),
    {
      kind: 'done',
      result: 'refused',
    },
  );
  assert.deepEqual(classifyItem(del('1'), { status: 404 }), { kind: 'done', result: 'absent' });
  assert.equal(
    classifyItem(upsert('1'), { status: 429, error: { type: 'es_rejected_execution_exception' } }).kind,
    'retry',
  );
  assert.equal(classifyItem(upsert('1'), { status: 503 }).kind, 'retry');
  assert.equal(
    classifyItem(del('1'), { status: 404, error: { type: 'index_not_found_exception' } }).kind,
    'retry',
  );
  const mapping = classifyItem(upsert('1'), {
    status: 400,
    error: {
      type: 'document_parsing_exception',
      reason: 'failed to parse field [n]',
      caused_by: { reason: 'For input string: "x"' },
    },
  });
  assert.deepEqual(mapping, {
    kind: 'dead',
    status: 400,
    reason: 'es_mapping_error',
    detail: 'document_parsing_exception: failed to parse field [n]: For input string: "x"',
  });
  assert.equal(
    classifyItem(upsert('1'), { status: 403, error: { type: 'security_exception' } }).kind,
    'dead',
  );
  assert.equal(classifyItem(upsert('1'), undefined).kind, 'retry');
  // an index that refuses writes for now: an operator's write block, the disk's flood stage
  for (const [status, reason] of [
    [403, 'index [shop] blocked by: [FORBIDDEN/8/index write (api)];'],
    [429, 'index [shop] blocked by: [TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark];'],
  ] as const)
    assert.deepEqual(
      classifyItem(upsert('1'), { status, error: { type: 'cluster_block_exception', reason } }),
      {
        kind: 'retry',
        status,
        reason: 'cluster_block_exception',
      },
    );
});

test('a bulk response is paired with its operations in order; a mismatched one retries everything', () => {
  const ops = [upsert('1'), del('2')];
  const paired = classifyBulkResponse(ops, {
    errors: true,
    items: [{ index: { status: 201 } }, { delete: { status: 404 } }],
  });
  assert.deepEqual(
    paired.map((p) => [p.op.id, p.outcome.kind]),
    [
      ['1', 'done'],
      ['2', 'done'],
    ],
  );
  const broken = classifyBulkResponse(ops, { items: [{ index: { status: 201 } }] });
  assert.deepEqual(
    broken.map((p) => p.outcome.kind),
    ['retry', 'retry'],
  );
});
