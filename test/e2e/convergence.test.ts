// End to end on the real stack, from each source: MariaDB → Canal → Kafka → ingest, or MariaDB →
// Canal (TCP) → relay → Redis Streams → ingest; then → Redis → worker → Elasticsearch.
// A random workload of 20,000 operations over three tables (single key with deletes, re-inserts and
// primary-key changes; composite key with separators; hot rows updated hundreds of times per
// window), then every table must equal its index exactly, and the hot table must have cost far
// fewer Elasticsearch writes than it had changes.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { createPipeline, PIPELINE_SOURCES, type Pipeline, type PipelineSource } from '../support/pipeline.ts';

for (const source of PIPELINE_SOURCES) describe(`from ${source}`, () => convergence(source));

function convergence(source: PipelineSource): void {
  let pipeline: Pipeline;

  before(async () => {
    pipeline = await createPipeline({ source, env: { SLUICE_WINDOW_MS: '3000' } });
    await pipeline.start('ingest');
    await pipeline.start('worker');
  });

  after(async () => {
    await pipeline?.close();
  });

  test('a 20,000-operation workload converges: every table equals its index', async () => {
    const stats = await runWorkload({
      url: pipeline.sourceUrl,
      database: pipeline.database,
      operations: 20_000,
      concurrency: 8,
      seed: 20261122,
      hotKeys: 3,
    });
    for (const kind of [
      'account-upsert',
      'account-delete',
      'account-update',
      'account-pk-change',
      'line-upsert',
      'line-delete',
      'hot-update',
    ]) {
      assert.ok((stats.byKind[kind] ?? 0) > 0, `the workload ran some ${kind}`);
    }

    // Converged = no row missing, stale or extra in any table; and each table had rows to compare.
    const diffs = await pipeline.waitConverged(WORKLOAD_TABLES);
    for (const diff of diffs) assert.ok(diff.rows > 0, `${diff.table} has rows to compare`);
    assert.ok(
      (diffs.find((d) => d.table.endsWith('.accounts'))?.rows ?? 0) > 500,
      'accounts has rows to compare',
    );

    const hotChanges = stats.byKind['hot-update'] ?? 0;
    const hotWrites = (await pipeline.indexStats('hot_counters')).indexTotal;
    assert.ok(hotChanges >= 5000, `hot changes ${hotChanges}`);
    assert.ok(
      hotWrites * 10 < hotChanges,
      `Elasticsearch got ${hotWrites} writes for ${hotChanges} changes of the hot table`,
    );
  });
}
