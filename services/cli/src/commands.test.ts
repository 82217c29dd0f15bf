import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { COMMANDS, commandOf } from './commands.ts';

test('the command is the first argument that is not a global option', () => {
  assert.equal(commandOf(['check', '--table', 'shop.orders']), 'check');
  assert.equal(commandOf(['-c', 'sluice.yaml', 'dlq', 'list']), 'dlq');
  assert.equal(commandOf(['--config', 'check.yaml', 'repair']), 'repair');
  assert.equal(commandOf(['--config=sluice.yaml', 'reindex', 'shop.orders']), 'reindex');
  assert.equal(commandOf(['--help']), undefined);
  assert.equal(commandOf([]), undefined);
});

test("each command's module registers the command it is loaded for", async () => {
  for (const [name, load] of Object.entries(COMMANDS)) {
    const program = new Command('sluice');
    (await load())(program);
    assert.ok(
      program.commands.some((c) => c.name() === name),
      `${name}: its module registers ${program.commands.map((c) => c.name()).join(', ')}`,
    );
  }
});
