// The structure rules of docs/architecture.md, checked on the sources: services share code only
// through shared packages, and shared packages never reach up into a service.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/stack.ts';

const SERVICES = readdirSync(join(repoRoot, 'services'));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every Sluice package a text imports: static imports, re-exports, side-effect and literal dynamic imports. */
function packagesIn(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(
    /(?:from\s+|import\s*\(\s*|import\s+)'(@sluice\/[a-z-]+)(?:\/[^']*)?'/g,
  )) {
    if (match[1]) found.push(match[1]);
  }
  return found;
}

function importedPackages(file: string): string[] {
  return packagesIn(readFileSync(file, 'utf8'));
}

test('no service imports another service', () => {
  const offences: string[] = [];
  for (const service of SERVICES) {
    for (const file of sources(join(repoRoot, 'services', service, 'src'))) {
      for (const pkg of importedPackages(file)) {
        const target = pkg.slice('@sluice/'.length);
        if (SERVICES.includes(target) && target !== service)
          offences.push(`${relative(repoRoot, file)} → ${pkg}`);
      }
    }
  }
  assert.deepEqual(offences, []);
});

test('no shared package imports a service', () => {
  const offences: string[] = [];
  for (const pkg of readdirSync(join(repoRoot, 'shared'))) {
    for (const file of sources(join(repoRoot, 'shared', pkg, 'src'))) {
      for (const imported of importedPackages(file)) {
        if (SERVICES.includes(imported.slice('@sluice/'.length)))
          offences.push(`${relative(repoRoot, file)} → ${imported}`);
      }
    }
  }
  assert.deepEqual(offences, []);
});

test('the import scan sees the forms it checks (it would catch an offence)', () => {
  const sample = join(repoRoot, 'test', 'static', 'structure.test.ts');
  // This file names packages only in strings below; the scan reads real import forms.
  const forms = [
    "import { x } from '@sluice/worker';",
    "export * from '@sluice/ingest/start';",
    "await import('@sluice/worker/start');",
    "import '@sluice/ingest';",
  ].join('\n');
  assert.deepEqual(packagesIn(forms), [
    '@sluice/worker',
    '@sluice/ingest',
    '@sluice/worker',
    '@sluice/ingest',
  ]);
  assert.ok(sources(join(repoRoot, 'test', 'static')).includes(sample));
});
