import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client as Client9 } from '@elastic/elasticsearch';
import { Client as Client8 } from 'es8';
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
