import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadMigrations, splitStatements } from './migrate.ts';

test('migration files split into statements at line-ending semicolons', () => {
  const sql =
    '-- header\nCREATE TABLE a (\n  x INT -- note; not the end\n);\n\n-- two\nCREATE TABLE b (y INT);\n';
  assert.deepEqual(splitStatements(sql), [
    'CREATE TABLE a (\n  x INT -- note; not the end\n)',
    'CREATE TABLE b (y INT)',
  ]);
  assert.throws(() => splitStatements('CREATE TABLE c (z INT)'), /without ";"/);
});

test('the shipped migrations are numbered, ordered and parse', () => {
  const migrations = loadMigrations();
  assert.ok(migrations.length >= 1);
  migrations.forEach((m, i) => {
    assert.equal(m.version, i + 1, `${m.name} is numbered in sequence`);
    assert.ok(splitStatements(m.sql).length > 0);
  });
});
