// How the services fail at start: a bad setting names the setting (exit 2); an unreachable dependency
// names the dependency and its address, never its password (exit 3).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSluice } from '../support/cli.ts';
import { stack } from '../support/stack.ts';

function baseEnv(): Record<string, string> {
  const s = stack();
  return {
    SLUICE_KAFKA_BROKERS: s.kafkaBrokers.join(','),
    SLUICE_REDIS_URL: s.redisUrl,
    SLUICE_ES_URL: s.esUrl,
    SLUICE_META_MYSQL_URL: s.metaMysqlUrl,
    SLUICE_HTTP_PORT: '0',
  };
}

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
