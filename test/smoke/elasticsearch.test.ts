import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Client as Client9 } from '@elastic/elasticsearch';
import { Mapping, parseFlatMessage } from '@sluice/core';
import { fieldCapabilities, openElastic, TableSchemas } from '@sluice/sink';
import { Client as Client8 } from 'es8';
import { deleteIndicesByPrefix } from '../support/elastic.ts';
import { stack } from '../support/stack.ts';
import { uniqueName } from '../support/wait.ts';

// Each server major is paired with the client of the same major: the 9.x client sends
// `compatible-with=9`, which an 8.x server refuses. The stack runs the main Elasticsearch and the
// other major beside it (es-compat), so both pairs are exercised here.

interface Target {
  label: string;
  url: string;
  major: 8 | 9;
}

function targets(): Target[] {
  const s = stack();
  return [
    { label: 'main', url: s.esUrl, major: s.esMajor },
    { label: 'compat', url: s.esCompatUrl, major: s.esCompatMajor },
  ];
}

// The two client majors expose the same calls for what this test uses; TypeScript cannot call
// through a union of their overloads, so the 8.x client is viewed through the 9.x type.
function clientFor(target: Target): Client9 {
  if (target.major === 9) return new Client9({ node: target.url });
  return new Client8({ node: target.url }) as unknown as Client9;
}

// Cluster info comes from the nodes and health APIs: the integ-test-zip distribution has no
// rest-root module, so GET / (client.info()) answers 405 there.
async function roundTrip(client: Client9, major: 8 | 9): Promise<void> {
  const nodes = await client.nodes.info({ node_id: '_local' });
  const node = Object.values(nodes.nodes)[0];
  assert.ok(node, 'the local node is listed');
  assert.equal(node.version.split('.')[0], String(major), `server major is ${major}`);
  assert.equal(nodes.cluster_name, 'sluice-local');
  const health = await client.cluster.health();
  assert.ok(['green', 'yellow'].includes(String(health.status)), `cluster health ${health.status}`);
  assert.equal(health.number_of_nodes, 1);

  const index = uniqueName('smoke').toLowerCase();
  try {
    await client.indices.create({
      index,
      settings: { number_of_shards: 1, number_of_replicas: 0 },
      mappings: {
        properties: { name: { type: 'keyword' }, total: { type: 'double' } },
      },
    });
    const bulk = await client.bulk({
      refresh: 'wait_for',
      operations: [
        { index: { _index: index, _id: '1', version: 5, version_type: 'external' } },
        { name: 'first', total: 12.5 },
        { index: { _index: index, _id: '2', version: 1, version_type: 'external' } },
        { name: 'second', total: 3 },
        { index: { _index: index, _id: '1', version: 4, version_type: 'external' } },
        { name: 'stale', total: 0 },
      ],
    });
    assert.equal(bulk.items.length, 3);
    assert.equal(bulk.items[0]?.index?.status, 201);
    assert.equal(bulk.items[1]?.index?.status, 201);
    assert.equal(bulk.items[2]?.index?.status, 409, 'an older external version is refused');

    const doc = await client.get<{ name: string; total: number }>({ index, id: '1' });
    assert.equal(doc.found, true);
    assert.equal(doc._version, 5);
    assert.deepEqual(doc._source, { name: 'first', total: 12.5 });
    const count = await client.count({ index });
    assert.equal(count.count, 2);
  } finally {
    await client.indices.delete({ index, ignore_unavailable: true });
  }
}

for (const target of targets()) {
  test(`Elasticsearch ${target.major}.x (${target.label}) answers the matching @elastic/elasticsearch client`, async () => {
    const client = clientFor(target);
    try {
      await roundTrip(client, target.major);
    } finally {
      await client.close();
    }
  });
}

// The derived mappings of docs/types.md on both majors: every column of the type-matrix table gets
// its field, a new index takes every row of the captured Canal messages, and an existing index only
// gains the fields it lacks, with a conflicting one reported.
for (const target of targets()) {
  test(`Elasticsearch ${target.major}.x (${target.label}) takes the mappings derived from the column types`, async () => {
    const es = await openElastic({
      url: target.url,
      major: String(target.major) as '8' | '9',
      requestTimeoutMs: 30_000,
    });
    const index = uniqueName('smoke-types').toLowerCase();
    const messages = JSON.parse(
      readFileSync(new URL('../fixtures/canal/type-matrix.json', import.meta.url), 'utf8'),
    ) as Array<{ mysqlType: Record<string, string> }>;
    const types = messages[0]?.mysqlType ?? {};
    const mapping = new Mapping({ tables: { 'db.t': { index } } }).route('db', 't');
    assert.equal(mapping.action, 'index');
    if (mapping.action !== 'index') return;
    try {
      const schemas = new TableSchemas(
        es,
        { gcDeletes: '1h', replicas: 0, shards: 1, refreshInterval: '1s' },
        await fieldCapabilities(es),
      );
      assert.deepEqual(await schemas.ensure([{ tableKey: 'db.t', mapping: mapping.mapping, types }]), []);
      const got = await es.request<
        Record<string, { mappings: { properties: Record<string, { type?: string }> } }>
      >({ method: 'GET', path: `/${index}/_mapping` });
      const properties = Object.values(got.body)[0]?.mappings.properties ?? {};
      assert.deepEqual(Object.keys(properties).sort(), Object.keys(types).sort(), 'every column is mapped');

      const lines: string[] = [];
      for (const [i, message] of messages.entries()) {
        const outcome = parseFlatMessage(JSON.stringify(message), {
          position: { topic: 't', partition: 0, offset: String(i) },
          generation: 0,
          maxRowBytes: 1 << 20,
        });
        assert.equal(outcome.kind, 'rows');
        if (outcome.kind !== 'rows') continue;
        for (const record of outcome.records) {
          lines.push(
            JSON.stringify({
              index: { _index: index, _id: record.pk, version: 1, version_type: 'external' },
            }),
          );
          lines.push(JSON.stringify(record.row));
        }
      }
      const bulk = await es.request<{ errors: boolean; items: unknown[] }>({
        method: 'POST',
        path: '/_bulk',
        querystring: { refresh: 'wait_for' },
        bulkBody: `${lines.join('\n')}\n`,
      });
      assert.equal(bulk.body.errors, false, JSON.stringify(bulk.body.items));

      // An index that exists: a new column is added, a retyped one is a conflict.
      const more = await schemas.ensure([
        { tableKey: 'db.t', mapping: mapping.mapping, types: { ...types, added: 'DATE', i8: 'VARCHAR(3)' } },
      ]);
      assert.deepEqual(more, [
        { tableKey: 'db.t', index, conflicts: [{ field: 'i8', existing: 'byte', wanted: 'text' }] },
      ]);
      const after = await es.request<
        Record<string, { mappings: { properties: Record<string, { type?: string }> } }>
      >({ method: 'GET', path: `/${index}/_mapping` });
      assert.equal(Object.values(after.body)[0]?.mappings.properties.added?.type, 'date');
    } finally {
      await deleteIndicesByPrefix(es, index);
      await es.close();
    }
  });
}
