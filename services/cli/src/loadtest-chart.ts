// The load test's chart, as one SVG: changes/s into the topic, read by ingest and documents/s written
// over time (top), freshness p50 and p99 (bottom), the phases as bands and the events (scale steps,
// the fault) as marked lines.

/** One second of a load test, as sampled. */
export interface Sample {
  t: number;
  /** Messages/s into the topic (end offsets), documents/s written by the workers, changes/s read by ingest. */
  inPerSecond: number;
  outPerSecond: number;
  readPerSecond: number;
  freshnessP50: number | undefined;
  freshnessP99: number | undefined;
  workers: number;
  cpu: Record<string, number>;
  rssMiB: Record<string, number>;
}

const W = 960;
const H = 560;
const LEFT = 70;
const RIGHT = 20;
const PANELS = [
  { top: 40, height: 230 },
  { top: 330, height: 180 },
];

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A bound for an axis: 1, 2 or 5 × a power of ten at or above the largest value. */
function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return ([1, 2, 5, 10].find((m) => m * power >= value) ?? 10) * power;
}

export function renderChart(
  samples: readonly Sample[],
  phases: ReadonlyArray<{ name: string; start: number; end?: number }>,
  events: ReadonlyArray<{ t: number; what: string }>,
): string {
  const end = Math.max(1, samples.at(-1)?.t ?? 1, ...phases.map((p) => p.end ?? p.start));
  const x = (t: number) => LEFT + ((W - LEFT - RIGHT) * t) / end;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="title">`,
    '<title id="title">Sluice load test: changes/s in, documents/s out and freshness over time, with its phases and events</title>',
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  const shades = ['#f4f6fb', '#ffffff'];
  phases.forEach((p, i) => {
    const x0 = x(p.start);
    const x1 = x(p.end ?? end);
    for (const panel of PANELS)
      out.push(
        `<rect x="${x0}" y="${panel.top}" width="${Math.max(0, x1 - x0)}" height="${panel.height}" fill="${shades[i % 2]}"/>`,
      );
    out.push(`<text x="${x0 + 3}" y="${(PANELS[0]?.top ?? 0) - 6}" fill="#555">${xml(p.name)}</text>`);
  });
  const series = (
    panel: { top: number; height: number },
    max: number,
    lines: Array<{ label: string; color: string; value: (s: Sample) => number | undefined; dash?: string }>,
    unit: string,
  ) => {
    const y = (v: number) => panel.top + panel.height - (panel.height * Math.min(v, max)) / max;
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
      out.push(
        `<text x="${LEFT - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toPrecision(3)).toLocaleString('en-US')}</text>`,
      );
    }
    out.push(
      `<text x="12" y="${panel.top + panel.height / 2}" transform="rotate(-90 12 ${panel.top + panel.height / 2})" text-anchor="middle">${xml(unit)}</text>`,
    );
    lines.forEach((line, i) => {
      const points = samples
        .map((s) => [s.t, line.value(s)] as const)
        .filter((p): p is readonly [number, number] => p[1] !== undefined)
        .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      if (points.length > 1)
        out.push(
          `<polyline fill="none" stroke="${line.color}" stroke-width="1.5"${line.dash ? ` stroke-dasharray="${line.dash}"` : ''} points="${points.join(' ')}"/>`,
        );
      out.push(
        `<rect x="${LEFT + 10 + i * 190}" y="${panel.top + 6}" width="12" height="3" fill="${line.color}"/>`,
      );
      out.push(`<text x="${LEFT + 26 + i * 190}" y="${panel.top + 11}">${xml(line.label)}</text>`);
    });
  };
  const top = PANELS[0] as { top: number; height: number };
  const bottom = PANELS[1] as { top: number; height: number };
  series(
    top,
    niceMax(Math.max(...samples.map((s) => Math.max(s.inPerSecond, s.outPerSecond, s.readPerSecond)))),
    [
      { label: 'changes/s into the topic', color: '#1f77b4', value: (s) => s.inPerSecond },
      { label: 'changes/s read by ingest', color: '#7f7f7f', value: (s) => s.readPerSecond, dash: '4 3' },
      { label: 'documents/s written', color: '#2ca02c', value: (s) => s.outPerSecond },
    ],
    'per second',
  );
  series(
    bottom,
    niceMax(Math.max(...samples.map((s) => s.freshnessP99 ?? 0))),
    [
      { label: 'freshness p99', color: '#d62728', value: (s) => s.freshnessP99 },
      { label: 'freshness p50', color: '#ff7f0e', value: (s) => s.freshnessP50 },
    ],
    'seconds',
  );
  for (const event of events) {
    out.push(
      `<line x1="${x(event.t)}" x2="${x(event.t)}" y1="${top.top}" y2="${bottom.top + bottom.height}" stroke="#9467bd" stroke-dasharray="3 3"/>`,
    );
    out.push(`<text x="${x(event.t) + 3}" y="${bottom.top - 8}" fill="#9467bd">${xml(event.what)}</text>`);
  }
  for (let i = 0; i <= 6; i++) {
    const t = (end * i) / 6;
    out.push(
      `<text x="${x(t)}" y="${bottom.top + bottom.height + 16}" text-anchor="middle">${t.toFixed(0)} s</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
