// `sluice relay` as an operator meets it on the real stack: it refuses to start without a Canal
// address or on a Redis that would lose acknowledged entries (unless told to accept the risk); a
// wrong Canal password keeps it unready and retrying; and the stream length stays bounded without
// trimming what nobody read: with no reader, the relay stops reading Canal once a stream holds
// SLUICE_STREAM_MAX_LENGTH entries, and goes on (every change arriving) when ingest reads them.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { streamKey } from '@sluice/source';
import { runSluice } from '../support/cli.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { openStreamRedis, startRedisServer } from '../support/redis.ts';
import { metricSum, startService } from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const pipelines: Pipeline[] = [];

after(async () => {
  for (const p of pipelines) await p.close();
});

const relayEnv = (extra: Record<string, string> = {}) => ({
  SLUICE_REDIS_URL: stack().streamRedisUrl,
  SLUICE_CANAL_ADDRESS: stack().canalTcpAddress,
  SLUICE_CANAL_DESTINATION: stack().canalTcpDestination,
  SLUICE_CANAL_USER: 'canal',
  SLUICE_CANAL_PASSWORD: 'canal',
  SLUICE_CANAL_FILTER: 'sluice_relay_nothing\\..*',
  SLUICE_REDIS_PREFIX: `relaytest${process.pid}`,
  SLUICE_HTTP_PORT: '0',
  ...extra,
});

test('the relay refuses to start without Canal or on a Redis that loses acknowledged writes', async () => {
  const noCanal = await runSluice(['relay'], { ...relayEnv(), SLUICE_CANAL_ADDRESS: '' });
  assert.equal(noCanal.code, 2, noCanal.stderr);
  assert.match(noCanal.stderr, /SLUICE_CANAL_ADDRESS \(canal\.address\): is required by sluice relay/);

  const volatile = await startRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-aof-'));
  const everysec = await startRedisServer(['--appendonly', 'yes', '--appendfsync', 'everysec', '--dir', dir]);
  try {
    const refused = await runSluice(['relay'], relayEnv({ SLUICE_REDIS_URL: volatile.url }));
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /append-only file is off.*SLUICE_RELAY_DURABILITY=none/);
    const once = await runSluice(['relay'], relayEnv({ SLUICE_REDIS_URL: everysec.url }));
    assert.equal(once.code, 3, once.stderr);
    assert.match(once.stderr, /fsynced once a second \(appendfsync everysec\).*SLUICE_RELAY_DURABILITY=aof/);
    // accepted when the operator says so
    for (const [url, durability] of [
      [everysec.url, 'aof'],
      [volatile.url, 'none'],
    ] as const) {
      const relay = await startService(
        `relay-${durability}`,
        'relay',
        relayEnv({ SLUICE_REDIS_URL: url, SLUICE_RELAY_DURABILITY: durability }),
      );
      assert.equal(await relay.stop(), 0);
    }
  } finally {
    await volatile.stop();
    await everysec.stop();
  }
});

test('a wrong Canal password keeps the relay unready and retrying, naming why', async () => {
  const relay = await startService('relay-badpass', 'relay', relayEnv({ SLUICE_CANAL_PASSWORD: 'wrong' }), {
    ready: false,
  });
  try {
    const reasons = await waitFor('the relay to report a failed Canal session', async () => {
      const response = await fetch(`http://127.0.0.1:${relay.httpPort}/health/ready`);
      const body = (await response.json()) as { reasons?: string[] };
      const failures = await metricSum(relay.httpPort, 'sluice_relay_errors_total', { reason: 'canal' });
      return response.status === 503 && failures >= 2 ? body.reasons : undefined;
    });
    assert.ok(reasons?.includes('not subscribed to Canal'), JSON.stringify(reasons));
    assert.equal(relay.child.exitCode, null, 'it keeps retrying');
  } finally {
    await relay.stop();
  }
});

test('with no reader the relay stops at the length bound, trims nothing unread, and resumes when ingest reads', async () => {
  const pipeline = await createPipeline({
    source: 'redis-stream',
    env: { SLUICE_STREAM_PARTITIONS: '1', SLUICE_STREAM_MAX_LENGTH: '1000', SLUICE_WINDOW_MS: '1000' },
  });
  pipelines.push(pipeline);
  const relay = pipeline.relay;
  assert.ok(relay);
  const key = streamKey(
    {
      prefix: pipeline.env.SLUICE_REDIS_PREFIX as string,
      cluster: pipeline.env.SLUICE_CLUSTER as string,
      partitions: 1,
    },
    0,
  );
  const redis = openStreamRedis();
  try {
    const load = runWorkload({
      url: pipeline.sourceUrl,
      database: pipeline.database,
      operations: 3000,
      concurrency: 4,
      seed: 20261203,
      hotKeys: 3,
    });
    await waitFor('the relay to stop reading Canal', async () =>
      (await metricSum(relay.httpPort, 'sluice_relay_paused')) === 1 ? true : undefined,
    );
    const ready = (await (await fetch(`http://127.0.0.1:${relay.httpPort}/health/ready`)).json()) as {
      reasons: string[];
    };
    assert.ok(
      ready.reasons.some((r) => /SLUICE_STREAM_MAX_LENGTH 1000/.test(r)),
      JSON.stringify(ready),
    );
    await load;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const held = await redis.xlen(key);
    assert.ok(held > 1000 && held < 1000 + 2000, `the stream holds ${held}: the bound plus at most a batch`);
    const [first] = await redis.xrange(key, '-', '+', 'COUNT', 1);
    assert.equal(first?.[0], '1-0', 'nothing unread was trimmed');

    await pipeline.start('ingest');
    await pipeline.start('worker');
    await pipeline.waitConverged(WORKLOAD_TABLES, 120_000);
    assert.equal(await metricSum(relay.httpPort, 'sluice_relay_paused'), 0, 'reading Canal again');
    await waitFor('acknowledged entries trimmed to the bound', async () => {
      const length = await redis.xlen(key);
      return length <= 1000 + 200 ? length : undefined;
    });
  } finally {
    redis.disconnect();
  }
});
