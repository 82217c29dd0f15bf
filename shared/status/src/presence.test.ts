import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Presence, type PresenceBase, type PresenceStore, presenceKey } from './presence.ts';

class MemoryHashes implements PresenceStore {
  readonly hashes = new Map<string, Map<string, string>>();
  async hset(key: string, field: string, value: string) {
    if (!this.hashes.has(key)) this.hashes.set(key, new Map());
    this.hashes.get(key)?.set(field, value);
  }
  async hgetall(key: string) {
    return Object.fromEntries(this.hashes.get(key) ?? []);
  }
  async hdel(key: string, ...fields: string[]) {
    for (const f of fields) this.hashes.get(key)?.delete(f);
  }
}

const entry = (id: string, at: number): PresenceBase => ({ id, host: 'h', version: '1', startTime: 0, at });

test('fresh entries are read, stale ones ignored, long-dead and unreadable ones removed', async () => {
  const store = new MemoryHashes();
  const key = presenceKey('sluice:c', 'worker');
  assert.equal(key, 'sluice:c:presence:worker');
  const presence = new Presence<PresenceBase>(store, key, 1000);
  await presence.publish(entry('b', 10_000));
  await presence.publish(entry('a', 9_500));
  await presence.publish(entry('stale', 8_000)); // 2 s old: ignored, kept (its writer may be slow)
  await presence.publish(entry('dead', -5_000)); // 15 s old: removed
  await store.hset(key, 'garbage', '{not json');
  const read = await presence.read(10_000);
  assert.deepEqual(
    read.map((e) => e.id),
    ['a', 'b'],
  );
  assert.deepEqual([...(store.hashes.get(key)?.keys() ?? [])].sort(), ['a', 'b', 'stale']);
  await presence.remove('a');
  assert.deepEqual(
    (await presence.read(10_000)).map((e) => e.id),
    ['b'],
  );
});
