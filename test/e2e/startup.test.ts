// How the services fail at start: a bad setting names the setting (exit 2); an unreachable dependency
// names the dependency and its address, never its password (exit 3); so does a Redis that could evict
// buffered changes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkNoEviction } from '@sluice/buffer';
import { Redis } from 'ioredis';
import { runSluice } from '../support/cli.ts';
import { startRedisServer } from '../support/redis.ts';
import { stackConnectionEnv } from '../support/stack.ts';

const baseEnv = () => ({ ...stackConnectionEnv(), SLUICE_HTTP_PORT: '0' });

test('an invalid setting stops the service at start, naming the setting and the value', async () => {
  for (const command of ['ingest', 'worker']) {
    const result = await runSluice([command], { ...baseEnv(), SLUICE_WINDOW_MS: 'soon' });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /invalid setting SLUICE_WINDOW_MS \(window_ms\).*got 'soon'/);
  }
  const missing = await runSluice(['worker'], { ...baseEnv(), SLUICE_ES_URL: '' });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /SLUICE_ES_URL \(es\.url\): is required/);
});

test('an unreachable dependency is named with its address, and its password is not printed', async () => {
  const secret = 'pa55-never-printed';
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    [
      'worker',
      { SLUICE_REDIS_URL: `redis://:${secret}@127.0.0.1:1` },
      /Redis at redis:\/\/127\.0\.0\.1:1 is unreachable/,
    ],
    [
      'worker',
      { SLUICE_ES_URL: `http://elastic:${secret}@127.0.0.1:1` },
      /Elasticsearch at http:\/\/127\.0\.0\.1:1 is unreachable/,
    ],
    [
      'ingest',
      { SLUICE_META_MYSQL_URL: `mysql://sluice:${secret}@127.0.0.1:1/meta` },
      /MySQL \(metadata\) at mysql:\/\/127\.0\.0\.1:1\/meta is unreachable/,
    ],
    ['ingest', { SLUICE_KAFKA_BROKERS: '127.0.0.1:1' }, /Kafka at 127\.0\.0\.1:1 is unreachable/],
  ];
  for (const [command, env, pattern] of cases) {
    const result = await runSluice([command], { ...baseEnv(), ...env });
    assert.equal(result.code, 3, `${command} ${JSON.stringify(env)}: ${result.stderr}`);
    assert.match(result.stderr, pattern);
    const output = `${result.stdout}${result.stderr}`;
    const leak = output.split('\n').find((line) => line.includes(secret));
    assert.equal(leak, undefined, 'the password stays out of the output');
  }
});

test('a Redis that may evict keys is refused at start, naming the policy (exit 3)', async () => {
  const redis = await startRedisServer(['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru']);
  try {
    for (const command of ['ingest', 'worker']) {
      const result = await runSluice([command], { ...baseEnv(), SLUICE_REDIS_URL: redis.url });
      assert.equal(result.code, 3, `${command}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /Redis at redis:\/\/127\.0\.0\.1:\d+ is unsafe: maxmemory-policy is allkeys-lru.*set maxmemory-policy noeviction/,
      );
    }
    // The operator may accept the risk: the check then only warns.
    const client = new Redis(redis.url);
    const warnings: string[] = [];
    try {
      assert.equal(await checkNoEviction(client, redis.url, true, (m) => warnings.push(m)), 'allkeys-lru');
      assert.match(warnings.join('\n'), /maxmemory-policy is allkeys-lru.*SLUICE_REDIS_ALLOW_EVICTION/);
      await client.config('SET', 'maxmemory-policy', 'noeviction');
      assert.equal(await checkNoEviction(client, redis.url, false, (m) => warnings.push(m)), 'noeviction');
      assert.equal(warnings.length, 1);
    } finally {
      client.disconnect();
    }
  } finally {
    await redis.stop();
  }
});
