// Comparing a table with its index (pure). Documents are compared as JSON values with key order
// ignored; numbers compare by value.

export interface TableDiff {
  table: string;
  index: string;
  rows: number;
  docs: number;
  /** Ids present in MySQL, absent from Elasticsearch. */
  missing: string[];
  /** Ids present in both with different content. */
  stale: string[];
  /** Ids present in Elasticsearch, absent from MySQL. */
  extra: string[];
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}

export function diffDocuments(
  table: string,
  index: string,
  rows: ReadonlyMap<string, unknown>,
  docs: ReadonlyMap<string, unknown>,
): TableDiff {
  const diff: TableDiff = {
    table,
    index,
    rows: rows.size,
    docs: docs.size,
    missing: [],
    stale: [],
    extra: [],
  };
  for (const [id, row] of rows) {
    if (!docs.has(id)) diff.missing.push(id);
    else if (canonicalJson(row) !== canonicalJson(docs.get(id))) diff.stale.push(id);
  }
  for (const id of docs.keys()) if (!rows.has(id)) diff.extra.push(id);
  return diff;
}

export function isClean(diff: TableDiff): boolean {
  return diff.missing.length === 0 && diff.stale.length === 0 && diff.extra.length === 0;
}
