import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { stack } from '../support/stack.ts';
import { uniqueName } from '../support/wait.ts';

// A compare-and-set by version: the kind of atomic step the buffer is built from.
const SET_IF_NEWER = `
local current = redis.call('HGET', KEYS[1], 'version')
if current and tonumber(current) >= tonumber(ARGV[1]) then
  return {0, current}
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'value', ARGV[2])
return {1, ARGV[1]}
`;

let redis: Redis;
const key = `${uniqueName('smoke')}:{s00}:row`;

before(() => {
  redis = new Redis(stack().redisUrl, { lazyConnect: false, maxRetriesPerRequest: 1 });
});

after(async () => {
  await redis.del(key);
  await redis.quit();
});

test('Redis runs a Lua script and returns its reply (ioredis round trip)', async () => {
  const run = (version: number, value: string) =>
    redis.eval(SET_IF_NEWER, 1, key, String(version), value) as Promise<[number, string]>;

  assert.deepEqual(await run(5, 'five'), [1, '5']);
  assert.deepEqual(await run(3, 'three'), [0, '5'], 'an older version must be refused');
  assert.deepEqual(await run(7, 'seven'), [1, '7']);
  assert.deepEqual(await redis.hgetall(key), { version: '7', value: 'seven' });

  const info = await redis.info('server');
  const version = /redis_version:(\d+)\.(\d+)/.exec(info);
  assert.ok(version, 'INFO server names the version');
  const [major, minor] = [Number(version[1]), Number(version[2])];
  assert.ok(major > 6 || (major === 6 && minor >= 2), `Redis >= 6.2 required, found ${version[0]}`);
});
