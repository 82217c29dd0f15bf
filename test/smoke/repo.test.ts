// The repository's own wiring: every workspace package is type-checked by the root build.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/stack.ts';

test('the root tsconfig references every package that has a tsconfig', () => {
  const root = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.json'), 'utf8')) as {
    references: Array<{ path: string }>;
  };
  const referenced = new Set(root.references.map((r) => r.path));
  const packages = ['shared', 'services'].flatMap((top) =>
    readdirSync(join(repoRoot, top))
      .filter((name) => existsSync(join(repoRoot, top, name, 'tsconfig.json')))
      .map((name) => `${top}/${name}`),
  );
  assert.ok(packages.length > 5);
  for (const path of [...packages, 'test'])
    assert.ok(referenced.has(path), `${path} is missing from tsconfig.json references`);
});
