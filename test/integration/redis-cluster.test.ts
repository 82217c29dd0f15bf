// The local stack's Redis Cluster (`stack.sh up redis-cluster`): 3 masters with a replica each, every
// slot served; a client writing across the slots keeps writing through a manual failover (CLUSTER
// FAILOVER on a replica) and loses nothing. What the Redis Cluster suite of Sluice stands on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { promoteReplica } from '../support/redis.ts';
import { stack, stackScript } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

const run = promisify(execFile);
let cluster: Cluster;
const prefix = uniqueName('clustertest');
const node = (address: string) => {
  const [host, port] = address.split(':');
  return new Redis({ host, port: Number(port), lazyConnect: false });
};

before(async () => {
  await run('bash', [stackScript, 'up', 'redis-cluster'], { timeout: 120_000 });
  cluster = new Cluster(
    stack().redisClusterNodes.map((address) => {
      const [host, port] = address.split(':');
      return { host: host as string, port: Number(port) };
    }),
  );
  cluster.on('error', () => undefined);
});

after(async () => {
  await cluster?.quit().catch(() => undefined);
});

/** Every node's role and, for masters, how many slots it serves. */
async function topology(): Promise<Array<{ address: string; role: string; slots: number }>> {
  const out = [];
  for (const address of stack().redisClusterNodes) {
    const client = node(address);
    try {
      const role = ((await client.call('ROLE')) as [string])[0];
      const nodes = String(await client.call('CLUSTER', 'NODES'));
      const me = nodes.split('\n').find((line) => line.includes('myself')) ?? '';
      const slots = me
        .split(' ')
        .slice(8)
        .reduce((sum, range) => {
          const [a, b] = range.split('-').map(Number);
          return sum + (b === undefined ? 1 : (b as number) - (a as number) + 1);
        }, 0);
      out.push({ address, role, slots });
    } finally {
      client.disconnect();
    }
  }
  return out;
}

test('3 masters with a replica each serve all 16,384 slots', async () => {
  const nodes = await topology();
  const masters = nodes.filter((n) => n.role === 'master');
  assert.equal(masters.length, 3);
  assert.equal(nodes.filter((n) => n.role === 'slave').length, 3);
  assert.equal(
    masters.reduce((sum, m) => sum + m.slots, 0),
    16_384,
  );
});

test('writes across the slots go on through a manual failover, and nothing is lost', async () => {
  let written = 0;
  let failures = 0;
  let writing = true;
  const writer = (async () => {
    while (writing) {
      try {
        await cluster.set(`${prefix}:${written}`, String(written));
        written++;
      } catch {
        failures++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  })();
  await waitFor('some writes', () => (written > 500 ? true : undefined), { timeoutMs: 10_000 });
  const before = await topology();
  const replica = before.find((n) => n.role === 'slave') as { address: string };
  await promoteReplica(replica.address);
  const at = written;
  await waitFor('writes after the failover', () => (written > at + 500 ? true : undefined), {
    timeoutMs: 20_000,
  });
  writing = false;
  await writer;
  const after = await topology();
  assert.equal(after.filter((n) => n.role === 'master').length, 3);
  assert.ok(after.some((n) => n.address === replica.address && n.role === 'master'));
  for (let i = 0; i < written; i += 500) {
    const keys = Array.from({ length: Math.min(500, written - i) }, (_, j) => `${prefix}:${i + j}`);
    const values = await Promise.all(keys.map((k) => cluster.get(k)));
    for (const [j, v] of values.entries()) assert.equal(v, String(i + j), `${keys[j]} lost`);
  }
  assert.ok(failures < written, `${failures} failed writes of ${written}`);
});
