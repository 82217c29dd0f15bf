import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ConfigError, DependencyError } from '@sluice/core';
import { CommanderError } from 'commander';
import { describeFailure, EXIT } from './exit.ts';

test('each kind of failure has its own exit code, none of them the "no" answer (1)', () => {
  assert.equal(describeFailure(new ConfigError('SLUICE_SHARDS', 'must be > 0')).code, EXIT.usage);
  assert.equal(
    describeFailure(new DependencyError('Redis', 'redis://r:6379', new Error('refused'))).code,
    EXIT.dependency,
  );
  assert.equal(
    describeFailure(new CommanderError(1, 'commander.unknownOption', "unknown option '--x'")).code,
    EXIT.usage,
  );
  assert.equal(
    describeFailure(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)')).code,
    EXIT.ok,
  );
  assert.deepEqual(describeFailure(new Error('index missing')), {
    message: 'index missing',
    code: EXIT.failure,
  });
  assert.ok(![EXIT.usage, EXIT.dependency, EXIT.failure].includes(EXIT.negative as never));
});

test('sluice: an unknown option is a usage error (2), help is 0', () => {
  const bin = new URL('../bin/sluice.js', import.meta.url).pathname;
  const unknown = spawnSync(process.execPath, [bin, 'check', '--no-such-option'], { encoding: 'utf8' });
  assert.equal(unknown.status, EXIT.usage, unknown.stderr);
  assert.match(unknown.stderr, /unknown option '--no-such-option'/);
  const help = spawnSync(process.execPath, [bin, 'check', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, EXIT.ok, help.stderr);
  assert.match(help.stdout, /Usage: sluice check/);
});
