// The container image, built here from Debian packages and the npm registry (deploy/image/build.sh,
// on base.sh's debootstrap base), is what the Kubernetes manifests expect, and its `sluice ingest`
// and `sluice worker` keep an index in step with MySQL on the real stack.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, test } from 'node:test';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { buildImage, type ImageConfig, imageLauncher, inspectImage, runInImage } from '../support/image.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { serviceGet } from '../support/services.ts';
import { repoRoot } from '../support/stack.ts';

let image: ImageConfig;
let pipeline: Pipeline | undefined;

before(async () => {
  image = await inspectImage(await buildImage());
});

after(async () => {
  await pipeline?.close();
});

test('the image runs `sluice` as an unprivileged user, with its version and revision, without build tools or secrets', async (t) => {
  const pkg = JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string };
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
  t.diagnostic(`image ${image.tag}: ${image.size}`);

  assert.deepEqual(image.entrypoint, ['node', '/app/services/cli/bin/sluice.js']);
  assert.equal(image.user, '10001:10001', 'the uid deploy/k8s runs as');
  assert.equal(image.labels['org.opencontainers.image.version'], pkg.version);
  assert.equal(image.labels['org.opencontainers.image.revision'], head);
  assert.ok(image.env.includes('NODE_ENV=production'));

  // One container for every look inside (each container is a full copy of the image here).
  const nodeVersion = readFileSync(`${repoRoot}.node-version`, 'utf8').trim();
  const inside = await runInImage(image.tag, [
    'sh',
    '-c',
    [
      'echo "uid=$(id -u)"',
      `echo "version=$(${image.entrypoint.join(' ')} --version)"`,
      'echo "node=$(node --version)"',
      // Compiled JavaScript only, production dependencies only, nothing of the build's credentials.
      'for p in /app/node_modules/typescript /app/node_modules/@biomejs /app/test /app/.stack /root/.npmrc /run/secrets/ca /app/services/cli/src/main.ts /app/services/cli/src/main.js; do [ -e "$p" ] && echo "present=$p"; done',
      // The tree belongs to root: the service cannot rewrite its own code.
      'touch /app/x 2>/dev/null && echo "app=writable" || echo "app=read-only"',
    ].join('; '),
  ]);
  const lines = inside.trim().split('\n');
  assert.deepEqual(lines, [
    'uid=10001',
    `version=${pkg.version}`,
    `node=v${nodeVersion}`,
    'present=/app/services/cli/src/main.js',
    'app=read-only',
  ]);
});

test("the image's ingest and worker converge a workload, and stop cleanly on SIGTERM", async () => {
  pipeline = await createPipeline({ env: { SLUICE_WINDOW_MS: '1000' } });
  // The mapping file goes in read-only, readable by the image's user (as a ConfigMap volume is).
  chmodSync(dirname(pipeline.mappingFile), 0o755);
  const launcher = imageLauncher(image, { mounts: [dirname(pipeline.mappingFile)] });
  const ingest = await pipeline.start('ingest', 'image-ingest', {}, launcher);
  const worker = await pipeline.start('worker', 'image-worker', {}, launcher);
  // Both are the image's processes: rooted in the container's filesystem, running as uid 10001.
  for (const service of [ingest, worker]) {
    const first = readFileSync(service.logFile, 'utf8').split('\n')[0] ?? '{}';
    const { pid } = JSON.parse(first) as { pid: number };
    assert.notEqual(readlinkSync(`/proc/${pid}/root`), '/', `${service.name} runs in the image's root`);
    assert.match(readFileSync(`/proc/${pid}/status`, 'utf8'), /^Uid:\s+10001\s/m);
  }

  await runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations: 3000,
    concurrency: 4,
    seed: 20261202,
    hotKeys: 3,
  });
  const diffs = await pipeline.waitConverged(WORKLOAD_TABLES);
  for (const diff of diffs) assert.ok(diff.rows > 0, `${diff.table} has rows to compare`);

  // The status page is in the image too (shared/status/public, copied by build-app.sh).
  assert.match(await (await serviceGet(worker, '/')).text(), /<title>Sluice<\/title>/);

  assert.equal(await worker.stop('SIGTERM'), 0, 'worker drains and exits 0');
  assert.equal(await ingest.stop('SIGTERM'), 0, 'ingest drains and exits 0');
});
