// The status page in a real headless browser (Debian's chromium driven by playwright-core): the
// shard map of two workers, members with their version, ingest lag per partition, dead letters by
// reason and the last check; after a worker is killed with SIGKILL the tiles change owner by
// themselves (the page refreshes). `sluice ui` serves the same page from the CLI's settings.
// SLUICE_UPDATE_DOCS=1 also writes the screenshot to docs/status-page.png.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { CheckReportRepository, DeadLetterRepository, openPool } from '@sluice/backup';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { LOG_DIR, type ServiceProcess, serviceGet } from '../support/services.ts';
import { repoRoot } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const CHROMIUM = process.env.SLUICE_TEST_CHROMIUM ?? '/usr/bin/chromium';
const VERSION = (JSON.parse(readFileSync(`${repoRoot}package.json`, 'utf8')) as { version: string }).version;

let pipeline: Pipeline;
let browser: Browser;
const workers: Array<{ service: ServiceProcess; id: string }> = [];

async function workerId(service: ServiceProcess): Promise<string> {
  return ((await (await serviceGet(service, '/status')).json()) as { workerId: string }).workerId;
}

interface Tile {
  shard: string;
  owner: string;
  state: string;
}

function tiles(page: Page): Promise<Tile[]> {
  return page.$$eval('#shards .tile', (nodes) =>
    nodes.map((n) => ({
      shard: n.getAttribute('data-shard') ?? '',
      owner: n.getAttribute('data-owner') ?? '',
      state: n.getAttribute('data-state') ?? '',
    })),
  );
}

before(async () => {
  assert.ok(existsSync(CHROMIUM), `a chromium at ${CHROMIUM} (bootstrap.sh installs Debian's)`);
  pipeline = await createPipeline({
    env: { SLUICE_ZK_SESSION_TIMEOUT_MS: '4000', SLUICE_WINDOW_MS: '1000', SLUICE_DRAIN_TIMEOUT_MS: '3000' },
  });
  await pipeline.start('ingest');
  for (let i = 0; i < 2; i++) {
    const service = await pipeline.start('worker');
    workers.push({ service, id: await workerId(service) });
  }
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await pipeline?.close();
});

test('the status page shows the cluster, and its tiles change owner when a worker is killed', async () => {
  // Something for every section: rows flushed, a dead letter, a stored check report.
  await runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations: 1500,
    concurrency: 4,
    seed: 20261203,
    hotKeys: 2,
  });
  await pipeline.waitConverged(WORKLOAD_TABLES);
  const meta = await openPool(pipeline.metaUrl);
  try {
    await new DeadLetterRepository(meta).add([
      { stage: 'ingest', reason: 'invalid_json', detail: 'status page test', payload: '{oops' },
      { stage: 'ingest', reason: 'invalid_json', detail: 'status page test', payload: '{oops' },
    ]);
    const reports = new CheckReportRepository(meta);
    const run = (await reports.startRun('cli')) as number;
    await reports.addTable(run, {
      table: `${pipeline.database}.accounts`,
      index: `${pipeline.indexPrefix}accounts`,
      rows: 120,
      docs: 119,
      missing: 1,
      stale: 0,
      extra: 0,
      settled: 0,
      truncated: false,
      durationMs: 5,
      ids: { missing: ['7'], stale: [], extra: [] },
    });
    await reports.finishRun(run);
  } finally {
    await meta.end();
  }

  const [first, second] = workers as [(typeof workers)[0], (typeof workers)[0]];
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(`http://127.0.0.1:${first.service.httpPort}/`);

  // Both workers own shards, every shard settled (assigned and held by its owner alone).
  const before = await waitFor(
    'the page to show 16 settled shards over both workers',
    async () => {
      const shown = await tiles(page);
      const owners = new Set(shown.map((t) => t.owner));
      return shown.length === 16 &&
        shown.every((t) => t.state === 'owned') &&
        owners.size === 2 &&
        owners.has(first.id) &&
        owners.has(second.id)
        ? shown
        : undefined;
    },
    { timeoutMs: 30_000 },
  );
  assert.deepEqual(
    before.map((t) => t.shard),
    Array.from({ length: 16 }, (_, i) => String(i)),
  );
  const members = await page.$$eval('#members tr', (rows) => rows.map((r) => r.textContent ?? ''));
  assert.equal(members.length, 2);
  for (const { id } of workers)
    assert.ok(
      members.some((m) => m.includes(id) && m.includes(VERSION)),
      id,
    );
  assert.match((await page.textContent('#members')) ?? '', /leader/);
  const ingest = await waitFor('ingest lag rows', async () => {
    const rows = await page.$$eval('#ingest tr', (r) => r.map((x) => x.textContent ?? ''));
    return rows.some((r) => r.includes('sluice.canal')) ? rows : undefined;
  });
  assert.ok(ingest.length >= 1);
  assert.match((await page.textContent('#dead-letters')) ?? '', /invalid_json\s*2/);
  assert.match((await page.textContent('#check')) ?? '', /1 differences in 1 tables, 120 rows/);
  // Flushed shards say when; the epoch is ZooKeeper's.
  assert.match((await page.textContent('#shards')) ?? '', /ago/);
  assert.match((await page.textContent('#epoch')) ?? '', /^\d+$/);
  mkdirSync(LOG_DIR, { recursive: true });
  const screenshot = `${LOG_DIR}/status-page.png`;
  await page.screenshot({ path: screenshot, fullPage: true });
  if (process.env.SLUICE_UPDATE_DOCS === '1') copyFileSync(screenshot, `${repoRoot}docs/status-page.png`);

  // kill -9 of the second worker: no goodbye, its ZooKeeper session expires, the leader moves its
  // shards; the page (refreshing itself, no reload) shows every tile owned by the survivor.
  const moved = before.filter((t) => t.owner === second.id).map((t) => t.shard);
  assert.ok(moved.length > 0);
  await second.service.kill9();
  await waitFor(
    'every tile to be owned and held by the surviving worker',
    async () => {
      const shown = await tiles(page);
      return shown.length === 16 && shown.every((t) => t.owner === first.id && t.state === 'owned')
        ? shown
        : undefined;
    },
    { timeoutMs: 45_000 },
  );
  const after = await page.$$eval('#members tr', (rows) => rows.map((r) => r.textContent ?? ''));
  assert.equal(after.length, 1);
  assert.ok(after[0]?.includes(first.id));
  await page.close();
});

test("the ingest's page and `sluice ui` show the same cluster", async () => {
  const [ingest] = pipeline.services.filter((s) => s.name.startsWith('ingest'));
  assert.ok(ingest);
  const fromIngest = (await (await serviceGet(ingest, '/status/cluster')).json()) as {
    shards: Array<{ owner: string | null }>;
    members: unknown[];
    errors: unknown[];
  };
  assert.deepEqual(fromIngest.errors, []);
  assert.equal(fromIngest.shards.length, 16);
  assert.ok(fromIngest.shards.every((s) => s.owner === workers[0]?.id));
  assert.match(await (await serviceGet(ingest, '/')).text(), /<title>Sluice<\/title>/);

  const ui = spawn(process.execPath, [`${repoRoot}services/cli/bin/sluice.js`, 'ui', '--port', '0'], {
    env: { ...process.env, ...pipeline.env, SLUICE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let out = '';
    ui.stdout.on('data', (chunk) => {
      out += chunk;
    });
    const url = await waitFor('sluice ui to print its address', () => /http:\/\/\S+\//.exec(out)?.[0]);
    const page = await browser.newPage();
    await page.goto(url);
    await waitFor('the ui page to draw the tiles', async () => {
      const shown = await tiles(page);
      return shown.length === 16 && shown.every((t) => t.owner === workers[0]?.id) ? true : undefined;
    });
    await page.close();
  } finally {
    ui.kill('SIGTERM');
  }
  const code = await new Promise((resolve) => ui.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, 'sluice ui stops cleanly on SIGTERM');
});
