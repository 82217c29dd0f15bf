// The deployable tree (deploy/image/build-app.sh → build/app) is complete: compiled JavaScript that
// runs with Node's TypeScript support turned off, every package export on an existing .js file, the
// Lua scripts and migrations beside the code that reads them, and the `sluice` command working.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { repoRoot } from '../support/stack.ts';

// Its own folder, so that a build/app in use (a benchmark) is left alone.
const APP = mkdtempSync(join(tmpdir(), 'sluice-app-'));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules') return [];
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

/** Runs node in the tree with type stripping off: a .ts file anywhere on the way fails the run. */
function node(args: string[]) {
  return spawnSync(process.execPath, ['--no-experimental-strip-types', ...args], {
    cwd: APP,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
}

before(() => {
  execFileSync('bash', [`${repoRoot}deploy/image/build-app.sh`, '--link', '--out', APP], { stdio: 'pipe' });
});

after(() => rmSync(APP, { recursive: true, force: true }));

test('the tree holds JavaScript only, with the assets of the sources beside it', () => {
  const built = files(APP).map((f) => relative(APP, f));
  assert.deepEqual(
    built.filter((f) => f.endsWith('.ts')),
    [],
    'no TypeScript in build/app',
  );
  const sourceAssets = ['shared', 'services']
    .flatMap((top) => files(join(repoRoot, top)))
    .map((f) => relative(repoRoot, f))
    .filter((f) => /\/(src\/.*\.lua|migrations\/.*\.sql)$/.test(f));
  assert.ok(sourceAssets.length >= 10, 'the sources have Lua scripts and migrations');
  for (const asset of sourceAssets) assert.ok(built.includes(asset), `${asset} is in build/app`);
});

test("every package's exports name compiled files that exist", () => {
  for (const top of ['shared', 'services']) {
    for (const name of readdirSync(join(APP, top))) {
      const pkg = JSON.parse(readFileSync(join(APP, top, name, 'package.json'), 'utf8')) as {
        exports: Record<string, string>;
      };
      for (const [entry, target] of Object.entries(pkg.exports)) {
        assert.match(target, /\.js$/, `${top}/${name} ${entry}`);
        assert.ok(existsSync(join(APP, top, name, target)), `${top}/${name} ${entry} → ${target}`);
      }
    }
  }
});

test('the compiled sluice command runs, and the services load, without TypeScript', () => {
  const help = node(['services/cli/bin/sluice.js', 'config', '--list']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /SLUICE_WINDOW_MS/);
  const services = node([
    '--input-type=module',
    '-e',
    "for (const m of ['@sluice/ingest/start', '@sluice/worker/start']) await import(m);",
  ]);
  assert.equal(services.status, 0, services.stderr);
});
