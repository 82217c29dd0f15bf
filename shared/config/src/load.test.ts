import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '@sluice/core';
import { describeSettings, loadSettings } from './load.ts';

const required = {
  SLUICE_KAFKA_BROKERS: '127.0.0.1:9092, 127.0.0.1:9093',
  SLUICE_REDIS_URL: 'redis://127.0.0.1:6379',
  SLUICE_META_MYSQL_URL: 'mysql://sluice:s3cret@127.0.0.1:3306/meta',
  SLUICE_ES_URL: 'http://127.0.0.1:9200',
};

function file(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-config-'));
  const path = join(dir, 'sluice.yaml');
  writeFileSync(path, text);
  return path;
}

function failsWith(options: Parameters<typeof loadSettings>[0], pattern: RegExp): void {
  assert.throws(
    () => loadSettings(options),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, String(error));
      assert.match(error.message, pattern);
      return true;
    },
  );
}

test('defaults fill what is not set; lists are split', () => {
  const s = loadSettings({ env: required });
  assert.equal(s.windowMs, 3000);
  assert.equal(s.shards, 16);
  assert.equal(s.batchSize, 1000);
  assert.equal(s.maxRetry, 3);
  assert.deepEqual(s.kafkaBrokers, ['127.0.0.1:9092', '127.0.0.1:9093']);
  assert.deepEqual(s.kafkaTopics, ['sluice.canal']);
  assert.equal(s.kafkaFromBeginning, true);
  assert.equal(s.httpPort, undefined);
});

test('the environment wins over the file, the file over defaults', () => {
  const path = file('window_ms: 5000\nbatch_size: 50\nkafka:\n  group: from-file\n');
  const s = loadSettings({ env: { ...required, SLUICE_BATCH_SIZE: '70' }, configFile: path });
  assert.equal(s.windowMs, 5000);
  assert.equal(s.batchSize, 70);
  assert.equal(s.kafkaGroup, 'from-file');
});

test('a file alone can configure everything', () => {
  const path = file(
    [
      'kafka: { brokers: [k1:9092] }',
      'redis: { url: "redis://r:6379" }',
      'meta: { mysql_url: "mysql://u:p@m/db" }',
      'es: { url: "https://e:9200" }',
    ].join('\n'),
  );
  const s = loadSettings({ env: {}, configFile: path });
  assert.deepEqual(s.kafkaBrokers, ['k1:9092']);
  assert.equal(s.esUrl, 'https://e:9200');
});

test('invalid values stop with a message naming the setting and the value', () => {
  failsWith({ env: { ...required, SLUICE_WINDOW_MS: 'soon' } }, /SLUICE_WINDOW_MS \(window_ms\).*got 'soon'/);
  failsWith({ env: { ...required, SLUICE_WINDOW_MS: '10' } }, /SLUICE_WINDOW_MS/);
  failsWith({ env: { ...required, SLUICE_SHARDS: '0' } }, /SLUICE_SHARDS/);
  failsWith(
    { env: { ...required, SLUICE_ES_URL: 'localhost:9200' } },
    /SLUICE_ES_URL \(es\.url\).*http:\/\//,
  );
  failsWith({ env: { ...required, SLUICE_KAFKA_FROM_BEGINNING: 'maybe' } }, /SLUICE_KAFKA_FROM_BEGINNING/);
  failsWith({ env: { ...required, SLUICE_CLUSTER: 'Bad Name' } }, /SLUICE_CLUSTER/);
  failsWith(
    { env: { ...required, SLUICE_BUFFER_LOW_WATERMARK: '500', SLUICE_BUFFER_HIGH_WATERMARK: '500' } },
    /SLUICE_BUFFER_LOW_WATERMARK.*below SLUICE_BUFFER_HIGH_WATERMARK/,
  );
});

test('missing required settings are named', () => {
  const { SLUICE_REDIS_URL: _omit, ...rest } = required;
  failsWith({ env: rest }, /SLUICE_REDIS_URL \(redis\.url\).*required/);
});

test('unknown keys and broken files are refused', () => {
  failsWith({ env: required, configFile: file('windw_ms: 5\n') }, /windw_ms.*unknown key/);
  failsWith({ env: required, configFile: file('kafka:\n  brokerz: [x]\n') }, /kafka\.brokerz/);
  failsWith({ env: required, configFile: file('a: [\n') }, /not valid YAML/);
  failsWith({ env: required, configFile: '/nonexistent/sluice.yaml' }, /cannot read/);
});

test('secrets are read from <ENV>_FILE and never shown', () => {
  const secretFile = file('mysql://sluice:from-file@db:3306/meta\n');
  const { SLUICE_META_MYSQL_URL: _omit, ...rest } = required;
  const s = loadSettings({ env: { ...rest, SLUICE_META_MYSQL_URL_FILE: secretFile } });
  assert.equal(s.metaMysqlUrl, 'mysql://sluice:from-file@db:3306/meta');
  const shown = JSON.stringify(describeSettings(s));
  assert.ok(!shown.includes('from-file'), shown);
  assert.ok(shown.includes('mysql://sluice:***@db:3306/meta'), shown);
  failsWith({ env: { ...required, SLUICE_REDIS_URL: 'http://x' } }, /SLUICE_REDIS_URL.*\(secret\)/);
  const withDigest = describeSettings(
    loadSettings({ env: { ...required, SLUICE_ZK_DIGEST: 'sluice:zk-secret', SLUICE_ES_API_KEY: 'k3y' } }),
  );
  assert.equal(withDigest['zookeeper.digest'], '***');
  assert.equal(withDigest['es.api_key'], '***');
});
