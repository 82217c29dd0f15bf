// Prometheus's text format, read back: what `sluice loadtest` samples from each process's /metrics.
export type Samples = Array<{ name: string; labels: Record<string, string>; value: number }>;

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseMetrics(text: string): Samples {
  const out: Samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL))
      labels[key as string] = (value as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = match[3] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[3]);
    out.push({ name: match[1] as string, labels, value });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `labels`. */
export function sumOf(samples: Samples, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const s of samples)
    if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  return sum;
}

/**
 * A quantile of a histogram from its cumulative buckets (bound → count), interpolated linearly
 * within the bucket it falls in, as Prometheus's histogram_quantile does; undefined when empty.
 * A quantile in the +Inf bucket is reported as the largest finite bound.
 */
export function histogramQuantile(
  buckets: ReadonlyArray<{ le: number; count: number }>,
  q: number,
): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const { le, count } of sorted) {
    if (count >= rank) {
      if (!Number.isFinite(le)) return lowerBound;
      const inBucket = count - lowerCount;
      return inBucket > 0 ? lowerBound + ((le - lowerBound) * (rank - lowerCount)) / inBucket : le;
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}
