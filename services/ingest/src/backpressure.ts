// Backpressure (pure): the ingest pauses every partition when the buffer holds `high` records or more
// and resumes at `low` or fewer; in between it keeps doing what it does (hysteresis, no flapping).

export function watermarkAction(
  paused: boolean,
  pending: number,
  marks: { high: number; low: number },
): 'pause' | 'resume' | undefined {
  if (!paused && pending >= marks.high) return 'pause';
  if (paused && pending <= marks.low) return 'resume';
  return undefined;
}
