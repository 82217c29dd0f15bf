// `npm run demo` (deploy/local/demo.sh), short, from each source: it converges and, once it is done,
// leaves no sluice process of its own running (they would otherwise retry forever against a stopped
// stack).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../support/stack.ts';

const run = promisify(execFile);

/** The `sluice ingest|worker|relay` processes started from this checkout's folder, as the demo starts them. */
function demoServices(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const cwd = `${readlinkSync(`/proc/${pid}/cwd`)}/`;
        return (
          cwd === repoRoot &&
          cmd.includes('services/cli/bin/sluice.js') &&
          /^(ingest|worker|relay)$/.test(cmd.at(-2) ?? '')
        );
      } catch {
        return false; // the process ended meanwhile
      }
    })
    .map(Number);
}

for (const source of ['kafka', 'redis-stream']) {
  test(`the demo converges from ${source} and stops the services it started`, async () => {
    const { stdout } = await run('bash', [`${repoRoot}deploy/local/demo.sh`, '--source', source], {
      env: { ...process.env, DEMO_OPERATIONS: '300', DEMO_RATE: '300' },
      maxBuffer: 16 * 1024 * 1024,
    });
    assert.match(stdout, /converged \d+ s after the workload ended/);
    if (source === 'redis-stream') assert.match(stdout, /Canal entries relayed into the streams: [1-9]\d*/);
    assert.deepEqual(demoServices(), [], 'no sluice service of the demo is left running');
  });
}
