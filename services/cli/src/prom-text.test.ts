import assert from 'node:assert/strict';
import { test } from 'node:test';
import { histogramQuantile, parseMetrics, sumOf } from './prom-text.ts';

test('samples are read back with their labels, and summed by name and labels', () => {
  const samples = parseMetrics(`# HELP x a counter
# TYPE x counter
sluice_flush_docs_total{shard="1",service="worker"} 10
sluice_flush_docs_total{shard="2",service="worker"} 5.5
process_cpu_seconds_total 1.25
odd{v="a \\"quoted\\" one"} 3
h_bucket{le="+Inf"} 7
`);
  assert.equal(sumOf(samples, 'sluice_flush_docs_total'), 15.5);
  assert.equal(sumOf(samples, 'sluice_flush_docs_total', { shard: '2' }), 5.5);
  assert.equal(sumOf(samples, 'process_cpu_seconds_total'), 1.25);
  assert.equal(samples.find((s) => s.name === 'odd')?.labels.v, 'a "quoted" one');
  assert.equal(samples.find((s) => s.name === 'h_bucket')?.labels.le, '+Inf');
});

test('histogram quantiles interpolate within their bucket, as Prometheus does', () => {
  const buckets = [
    { le: 1, count: 50 },
    { le: 2, count: 90 },
    { le: 4, count: 100 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];
  assert.equal(histogramQuantile(buckets, 0.5), 1);
  assert.equal(histogramQuantile(buckets, 0.7), 1.5);
  assert.equal(histogramQuantile(buckets, 0.95), 3);
  assert.equal(histogramQuantile([{ le: 1, count: 0 }], 0.5), undefined);
  assert.equal(
    histogramQuantile(
      [
        { le: 1, count: 1 },
        { le: Number.POSITIVE_INFINITY, count: 4 },
      ],
      0.99,
    ),
    1,
  );
});
