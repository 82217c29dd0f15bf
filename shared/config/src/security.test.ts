import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '@sluice/core';
import { loadSettings } from './load.ts';
import { esSecurity, kafkaSecurity, mysqlSecurity, redisSecurity } from './security.ts';

const base = {
  SLUICE_KAFKA_BROKERS: 'k:9092',
  SLUICE_REDIS_URL: 'rediss://u:p@r:6380',
  SLUICE_META_MYSQL_URL: 'mysql://u:p@m/db',
  SLUICE_ES_URL: 'https://e:9200',
};

test('TLS certificates are read from files and credentials mapped for each client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n');
  const s = loadSettings({
    env: {
      ...base,
      SLUICE_KAFKA_CA_FILE: ca,
      SLUICE_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      SLUICE_KAFKA_SASL_USERNAME: 'u',
      SLUICE_KAFKA_SASL_PASSWORD: 'pw',
      SLUICE_ES_USERNAME: 'elastic',
      SLUICE_ES_PASSWORD: 'esp',
      SLUICE_ES_CA_FILE: ca,
      SLUICE_REDIS_CA_FILE: ca,
      SLUICE_META_MYSQL_CA_FILE: ca,
    },
  });
  const kafka = kafkaSecurity(s);
  assert.deepEqual(kafka.sasl, { mechanism: 'scram-sha-512', username: 'u', password: 'pw' });
  assert.match((kafka.ssl as { ca: string[] }).ca[0] ?? '', /BEGIN CERTIFICATE/);
  assert.deepEqual(esSecurity(s).auth, { username: 'elastic', password: 'esp' });
  assert.match(esSecurity(s).caCert ?? '', /BEGIN/);
  assert.match(redisSecurity(s).caCert ?? '', /BEGIN/);
  assert.match(mysqlSecurity(s).ssl?.ca ?? '', /BEGIN/);
  assert.deepEqual(esSecurity(loadSettings({ env: { ...base, SLUICE_ES_API_KEY: 'k' } })).auth, {
    apiKey: 'k',
  });
  assert.deepEqual(kafkaSecurity(loadSettings({ env: { ...base, SLUICE_KAFKA_SSL: 'true' } })), {
    ssl: true,
  });
  assert.deepEqual(kafkaSecurity(loadSettings({ env: base })), {});
});

test('a missing certificate or incomplete SASL settings stop the start, naming the setting', () => {
  assert.throws(
    () => esSecurity(loadSettings({ env: { ...base, SLUICE_ES_CA_FILE: '/nonexistent/ca.pem' } })),
    (e: unknown) =>
      e instanceof ConfigError && /SLUICE_ES_CA_FILE \(es\.ca_file\): cannot read/.test(e.message),
  );
  assert.throws(
    () => kafkaSecurity(loadSettings({ env: { ...base, SLUICE_KAFKA_SASL_MECHANISM: 'plain' } })),
    /SLUICE_KAFKA_SASL_MECHANISM.*needs SLUICE_KAFKA_SASL_USERNAME and SLUICE_KAFKA_SASL_PASSWORD/,
  );
});
