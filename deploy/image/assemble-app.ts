// Completes the compiled tree that build-app.sh made: what tsc does not emit (package.json files with
// their exports on .js, Lua scripts, SQL migrations, the bin, the lock file), and with --link a
// node_modules of links to this checkout's installed packages and to the tree's own workspaces.
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';

const [outArg, ...flags] = process.argv.slice(2);
if (!outArg) throw new Error('usage: assemble-app.ts <out dir> [--link]');
const repo = resolve(import.meta.dirname, '../..');
const out = resolve(outArg);
const workspaces = ['shared', 'services'].flatMap((top) =>
  readdirSync(join(repo, top))
    .map((name) => join(top, name))
    .filter((dir) => existsSync(join(repo, dir, 'package.json'))),
);

/** Every value of an exports map (or a bin) that names a .ts source, pointed at its .js. */
function onJs(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\.ts$/, '.js');
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, onJs(v)]));
  return value;
}

/** Files under dir that tsc does not carry over (not .ts), relative to dir. */
function assets(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return assets(path).map((p) => join(name, p));
    return name.endsWith('.ts') ? [] : [name];
  });
}

for (const dir of workspaces) {
  const pkg = JSON.parse(readFileSync(join(repo, dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  delete pkg.devDependencies;
  delete pkg.scripts;
  pkg.exports = onJs(pkg.exports);
  mkdirSync(join(out, dir), { recursive: true });
  writeFileSync(join(out, dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  for (const file of assets(join(repo, dir, 'src')))
    cpSync(join(repo, dir, 'src', file), join(out, dir, 'src', file));
  for (const extra of ['migrations', 'proto', 'public']) {
    if (existsSync(join(repo, dir, extra)))
      cpSync(join(repo, dir, extra), join(out, dir, extra), { recursive: true });
  }
  if (existsSync(join(repo, dir, 'bin'))) {
    for (const file of readdirSync(join(repo, dir, 'bin'))) {
      const text = readFileSync(join(repo, dir, 'bin', file), 'utf8').replace(
        /(['"])\.\.\/src\/([\w/-]+)\.ts\1/g,
        '$1../src/$2.js$1',
      );
      mkdirSync(join(out, dir, 'bin'), { recursive: true });
      writeFileSync(join(out, dir, 'bin', file), text, { mode: 0o755 });
    }
  }
}

// The root manifest with the workspaces this tree has (not the tests), and the lock file.
const root = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, unknown>;
root.workspaces = ['shared/*', 'services/*'];
delete root.scripts;
delete root.devDependencies;
writeFileSync(join(out, 'package.json'), `${JSON.stringify(root, null, 2)}\n`);
cpSync(join(repo, 'package-lock.json'), join(out, 'package-lock.json'));

if (flags.includes('--link')) {
  const modules = join(out, 'node_modules');
  mkdirSync(join(modules, '@sluice'), { recursive: true });
  for (const name of readdirSync(join(repo, 'node_modules'))) {
    if (name === '@sluice' || name.startsWith('.')) continue;
    symlinkSync(join(repo, 'node_modules', name), join(modules, name));
  }
  for (const dir of workspaces) {
    const name = (JSON.parse(readFileSync(join(out, dir, 'package.json'), 'utf8')) as { name: string }).name;
    symlinkSync(relative(join(modules, '@sluice'), join(out, dir)), join(modules, name));
    // A workspace's own installs (a version other than the hoisted one).
    if (existsSync(join(repo, dir, 'node_modules')))
      symlinkSync(join(repo, dir, 'node_modules'), join(out, dir, 'node_modules'));
  }
}
process.stdout.write(`${relative(repo, out)}: ${workspaces.length} packages\n`);
