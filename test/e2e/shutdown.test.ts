// Graceful shutdown: SIGTERM and SIGINT stop every service within its bound, with exit code 0, after
// leaving the consumer group / the cluster (a worker's shards are handed over at once).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { waitFor } from '../support/wait.ts';

const DRAIN_MS = 3000;
let pipeline: Pipeline;

before(async () => {
  pipeline = await createPipeline({ env: { SLUICE_DRAIN_TIMEOUT_MS: String(DRAIN_MS) } });
});

after(async () => {
  await pipeline?.close();
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  for (const kind of ['ingest', 'worker'] as const) {
    test(`${kind} stops on ${signal} within the drain bound, exit code 0`, async () => {
      const service = await pipeline.start(kind);
      const started = Date.now();
      const code = await service.stop(signal, DRAIN_MS + 5000);
      const took = Date.now() - started;
      assert.equal(code, 0, `exit code after ${signal}`);
      assert.ok(took < DRAIN_MS + 5000, `stopped in ${took} ms`);
      const log = readFileSync(service.logFile, 'utf8');
      assert.match(log, new RegExp(`"signal":"${signal}".*"msg":"signal received: draining"`));
      assert.match(log, /"state":"stopped","msg":"stopped"/);
    });
  }
}

test('a stopping worker hands its shards over at once', async () => {
  const a = await pipeline.start('worker');
  const b = await pipeline.start('worker');
  const status = async (port: number) =>
    (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { owned: number[] };
  await waitFor('two workers sharing the shards', async () => {
    const [sa, sb] = await Promise.all([status(a.httpPort), status(b.httpPort)]);
    return sa.owned.length === 8 && sb.owned.length === 8 ? true : undefined;
  });
  const at = Date.now();
  await a.stop('SIGTERM');
  await waitFor(
    'the other worker to own all 16 shards',
    async () => ((await status(b.httpPort)).owned.length === 16 ? true : undefined),
    {
      timeoutMs: 5000,
      intervalMs: 20,
    },
  );
  assert.ok(Date.now() - at < DRAIN_MS + 2000);
});
