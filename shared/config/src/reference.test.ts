import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderSettingsReference } from './reference.ts';
import { SETTINGS } from './settings.ts';

const DOC = new URL('../../../docs/configuration.md', import.meta.url);

test('docs/configuration.md is the current rendering of the settings table', () => {
  const committed = readFileSync(DOC, 'utf8');
  assert.equal(
    committed,
    renderSettingsReference(),
    'docs/configuration.md is stale: regenerate it with `npx sluice config --markdown > docs/configuration.md`',
  );
});

test('the reference has one row per setting, marks secrets and required settings', () => {
  const rows = renderSettingsReference()
    .split('\n')
    .filter((line) => line.startsWith('| `'));
  assert.equal(rows.length, Object.keys(SETTINGS).length);
  const redis = rows.find((row) => row.startsWith(`| \`${SETTINGS.redisUrl.env}\``));
  assert.match(redis ?? '', /\*\*required\*\*/);
  const brokers = rows.find((row) => row.startsWith(`| \`${SETTINGS.kafkaBrokers.env}\``));
  assert.doesNotMatch(
    brokers ?? '',
    /\*\*required\*\*/,
    'Kafka is not required everywhere (relay, redis-stream)',
  );
  const secrets = Object.values(SETTINGS).filter((spec) => spec.secret);
  assert.ok(secrets.length > 0);
  for (const spec of secrets)
    assert.ok(
      rows.some((row) => row.startsWith(`| \`${spec.env}\` (secret)`)),
      spec.env,
    );
});
