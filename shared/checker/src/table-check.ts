// `sluice check` of one table, in bounded memory, whatever its size:
//   1. the table in primary-key chunks (row-chunks.ts); for each, the same ids fetched from the index
//      (_mget) and a digest of each side; only a chunk whose digests differ is compared row by row
//      (missing: no document; stale: another content)
//   2. the index's ids (scroll without sources), looked up in the table page by page (extra: no row)
//   3. every difference found is looked at again after `recheckAfterMs` (the flush window and more):
//      it is reported only if its row is as it was at the first look and the document still differs
//      (a row that changed in between is in flux: Sluice is carrying its change; not reported).
// At most `keepIds` ids are kept per kind; beyond that the counts go on and the report says so.
import { createHash } from 'node:crypto';
import type { CheckedTable } from '@sluice/backup';
import { type Mapping, splitTableKey } from '@sluice/core';
import { type EsApi, scrollIndex } from '@sluice/sink';
import type { Pool } from 'mysql2/promise';
import { canonicalJson } from './compare.ts';
import { readRowChunk, readRowsByIds, type SourceRow, type TableShape, tableShape } from './row-chunks.ts';

export type DifferenceKind = keyof CheckedTable['ids'];

/** What is stored of a table's check (backup/check-reports.ts), and when it started. */
export interface TableCheckReport extends CheckedTable {
  startedAt: number;
}

export interface TableCheckOptions {
  chunkRows?: number;
  /** Wait before looking at the differences again (ms); 0: no second look. */
  recheckAfterMs?: number;
  keepIds?: number;
  signal?: AbortSignal;
  onProgress?: (p: {
    table: string;
    phase: 'rows' | 'documents' | 'recheck';
    done: number;
    total: number;
  }) => void;
}

/** A digest of a chunk's documents, id by id in order (the same on both sides for an exact copy). */
export function chunkDigest(entries: ReadonlyArray<readonly [string, unknown]>): string {
  const hash = createHash('sha256');
  for (const [id, doc] of entries)
    hash.update(`${id}\u0000${doc === undefined ? '-' : canonicalJson(doc)}\n`);
  return hash.digest('hex');
}

interface MgetDoc {
  _id: string;
  found: boolean;
  _source?: unknown;
}

async function fetchDocs(es: EsApi, index: string, ids: readonly string[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  if (ids.length === 0) return out;
  const response = await es.request<{ docs?: MgetDoc[] }>(
    { method: 'POST', path: `/${encodeURIComponent(index)}/_mget`, body: { ids } },
    { ignore: [404] },
  );
  for (const doc of response.body.docs ?? []) if (doc.found) out.set(doc._id, doc._source);
  return out;
}

/** How the rows and documents of these ids differ now, with each row's content as it was read. */
function classify(
  rows: readonly SourceRow[],
  docs: ReadonlyMap<string, unknown>,
): Array<[string, DifferenceKind, string]> {
  const out: Array<[string, DifferenceKind, string]> = [];
  for (const row of rows) {
    const content = canonicalJson(row.doc);
    if (!docs.has(row.id)) out.push([row.id, 'missing', content]);
    else if (content !== canonicalJson(docs.get(row.id))) out.push([row.id, 'stale', content]);
  }
  return out;
}

/** A row's content as a short digest ('' when the row does not exist). */
const contentDigest = (content: string) =>
  content === '' ? '' : createHash('sha256').update(content).digest('base64');

export async function checkTable(
  db: Pool,
  es: EsApi,
  mapping: Mapping,
  tableKey: string,
  options: TableCheckOptions = {},
): Promise<TableCheckReport> {
  const startedAt = Date.now();
  const chunkRows = options.chunkRows ?? 1000;
  const keepIds = options.keepIds ?? 10_000;
  const { database, table } = splitTableKey(tableKey);
  const route = mapping.route(database, table);
  if (route.action !== 'index')
    throw new Error(`${tableKey} is not indexed by the mapping (${route.action})`);
  const index = route.mapping.index;
  const shape: TableShape = await tableShape(db, database, table);
  await es.request({ method: 'POST', path: `/${encodeURIComponent(index)}/_refresh` }, { ignore: [404] });

  // Each suspect keeps its row's content digest as first read ('' when the row did not exist). Ids
  // beyond what is kept are counted only (by kind); they get no second look.
  const suspects = new Map<string, { kind: DifferenceKind; row: string }>();
  const overflow: Record<DifferenceKind, number> = { missing: 0, stale: 0, extra: 0 };
  const suspect = (id: string, kind: DifferenceKind, content: string) => {
    if (suspects.size < keepIds * 3) suspects.set(id, { kind, row: contentDigest(content) });
    else overflow[kind]++;
  };

  // 1. Rows → documents.
  let rows = 0;
  let after: string[] | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const chunk = await readRowChunk(db, shape, route.mapping, after, chunkRows);
    if (chunk.length === 0) break;
    const docs = await fetchDocs(
      es,
      index,
      chunk.map((r) => r.id),
    );
    const mine = chunkDigest(chunk.map((r) => [r.id, r.doc] as const));
    const theirs = chunkDigest(chunk.map((r) => [r.id, docs.get(r.id)] as const));
    if (mine !== theirs) for (const [id, kind, content] of classify(chunk, docs)) suspect(id, kind, content);
    rows += chunk.length;
    after = (chunk[chunk.length - 1] as SourceRow).key;
    options.onProgress?.({ table: tableKey, phase: 'rows', done: rows, total: 0 });
    if (chunk.length < chunkRows) break;
  }

  // 2. Documents → rows.
  let docs = 0;
  for await (const hits of scrollIndex(es, index, { pageSize: chunkRows, source: false })) {
    options.signal?.throwIfAborted();
    const ids = hits.map((h) => h._id);
    const { rows: found, unreadable } = await readRowsByIds(db, shape, route.mapping, ids);
    const existing = new Set([...found.map((r) => r.id), ...unreadable]);
    for (const id of ids) if (!existing.has(id)) suspect(id, 'extra', '');
    docs += ids.length;
    options.onProgress?.({ table: tableKey, phase: 'documents', done: docs, total: 0 });
  }

  // 3. A second look at what differed. Confirmed: the row is as it was at the first look and the
  // document still differs. A row that changed in between is in flux (Sluice is carrying its change):
  // it is counted as settled, not as a difference, and a later check judges it.
  let settled = 0;
  let confirmed: Array<[string, DifferenceKind]> = [...suspects].map(([id, s]) => [id, s.kind]);
  if (confirmed.length > 0 && (options.recheckAfterMs ?? 0) > 0) {
    await new Promise((resolve) => setTimeout(resolve, options.recheckAfterMs));
    await es.request({ method: 'POST', path: `/${encodeURIComponent(index)}/_refresh` }, { ignore: [404] });
    const again: Array<[string, DifferenceKind]> = [];
    for (let i = 0; i < confirmed.length; i += chunkRows) {
      const ids = confirmed.slice(i, i + chunkRows).map(([id]) => id);
      const { rows: now, unreadable } = await readRowsByIds(db, shape, route.mapping, ids);
      const docsNow = await fetchDocs(es, index, ids);
      const unchanged = (id: string, content: string) => suspects.get(id)?.row === contentDigest(content);
      for (const [id, kind, content] of classify(now, docsNow))
        if (unchanged(id, content)) again.push([id, kind]);
      const present = new Set([...now.map((r) => r.id), ...unreadable]);
      for (const id of ids)
        if (!present.has(id) && docsNow.has(id) && unchanged(id, '')) again.push([id, 'extra']);
      options.onProgress?.({
        table: tableKey,
        phase: 'recheck',
        done: i + ids.length,
        total: confirmed.length,
      });
    }
    settled = confirmed.length - again.length;
    confirmed = again;
  }

  const ids: Record<DifferenceKind, string[]> = { missing: [], stale: [], extra: [] };
  for (const [id, kind] of confirmed) if (ids[kind].length < keepIds) ids[kind].push(id);
  const count = (kind: DifferenceKind) => confirmed.filter(([, k]) => k === kind).length + overflow[kind];
  return {
    table: tableKey,
    index,
    rows,
    docs,
    missing: count('missing'),
    stale: count('stale'),
    extra: count('extra'),
    settled,
    ids,
    truncated:
      Object.values(overflow).some((n) => n > 0) ||
      (['missing', 'stale', 'extra'] as const).some((k) => ids[k].length < count(k)),
    startedAt,
    durationMs: Date.now() - startedAt,
  };
}

export function hasDifferences(report: Pick<TableCheckReport, 'missing' | 'stale' | 'extra'>): boolean {
  return report.missing + report.stale + report.extra > 0;
}
