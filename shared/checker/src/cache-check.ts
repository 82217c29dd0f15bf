// `sluice check --cache`: a sample of the row cache's L2 entries (in Redis, under the cluster's
// prefix) compared with the rows in MySQL, in the form `sluice serve` caches them (the document
// Sluice indexes: typed and projected as a chunk of `sluice check` is). Per table of the sample:
//
//   stale  the entry holds other content than the row (or "no row" while the row exists)
//   extra  the entry holds a row that no longer exists
//
// An entry loaded before its table's last invalidation is not served, so it is not judged. What
// differs gets a second look after `recheckAfterMs`: a difference is confirmed only if the entry and
// the row are both as they were at the first look (otherwise an invalidation was under way:
// settled). Only tables the mapping indexes are compared (ingest invalidates only those).
import { mastersOf } from '@sluice/buffer';
import { type CacheLayout, cacheKeyPattern, parseCacheKey, tableGuardKey } from '@sluice/cache';
import { type Mapping, splitTableKey } from '@sluice/core';
import type { Cluster, Redis } from 'ioredis';
import type { Pool } from 'mysql2/promise';
import { canonicalJson } from './compare.ts';
import { readRowsByIds, tableShape } from './row-chunks.ts';
import type { TableCheckReport } from './table-check.ts';

export interface CacheCheckOptions {
  /** Only these tables ("db.table"); every table found in the sample when absent. */
  tables?: readonly string[];
  /** Entries to sample at most. */
  sample?: number;
  recheckAfterMs?: number;
  keepIds?: number;
}

/** The name under which a cache check's tables are reported (the "index" of a check report). */
export const CACHE_TARGET = 'row cache';

type Sampled = { key: string; tenant: string; table: string; pk: string };

/** Up to `sample` entry keys, by SCAN of every master (a sample: SCAN's order is the hash table's). */
async function sampleEntries(
  redis: Redis | Cluster,
  layout: CacheLayout,
  options: CacheCheckOptions,
): Promise<Sampled[]> {
  const wanted = options.sample ?? 1000;
  const tables = options.tables ? new Set(options.tables) : undefined;
  const found: Sampled[] = [];
  for (const node of mastersOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', cacheKeyPattern(layout), 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const parsed = parseCacheKey(layout, key);
        if (!parsed || (tables && !tables.has(parsed.row.table))) continue;
        found.push({ key, tenant: parsed.tenant, table: parsed.row.table, pk: parsed.row.pk });
        if (found.length >= wanted) return found;
      }
    } while (cursor !== '0');
  }
  return found;
}

/** The entries' content as served now ("" for one not served: gone, or from before its table's guard). */
async function servedContent(
  redis: Redis | Cluster,
  layout: CacheLayout,
  group: Sampled[],
): Promise<Map<string, string>> {
  const first = group[0] as Sampled;
  const values = (await redis.mget(
    tableGuardKey(layout, first.tenant, first.table),
    ...group.map((e) => e.key),
  )) as Array<string | null>;
  const tableGuard = values[0] ?? '';
  const out = new Map<string, string>();
  group.forEach((entry, i) => {
    const text = values[i + 1];
    const held = text ? (JSON.parse(text) as { value: unknown; table?: string }) : undefined;
    out.set(entry.pk, held && (held.table ?? '') === tableGuard ? canonicalJson(held.value) : '');
  });
  return out;
}

/** The rows of these ids as the cache would hold them: canonical JSON, "null" for no row. */
async function rowContent(db: Pool, mapping: Mapping, table: string, ids: readonly string[]) {
  const { database, table: name } = splitTableKey(table);
  const route = mapping.route(database, name);
  if (route.action !== 'index') return undefined;
  const shape = await tableShape(db, database, name).catch(() => undefined);
  const out = new Map<string, string>(ids.map((id) => [id, 'null']));
  if (!shape) return out; // the table is gone: no row exists
  const { rows, unreadable } = await readRowsByIds(db, shape, route.mapping, ids);
  for (const id of unreadable) out.delete(id);
  for (const row of rows) out.set(row.id, canonicalJson(row.doc));
  return out;
}

export async function checkCache(
  deps: { db: Pool; redis: Redis | Cluster; mapping: Mapping; layout: CacheLayout },
  options: CacheCheckOptions = {},
): Promise<{ reports: TableCheckReport[]; skipped: string[] }> {
  const { db, redis, mapping, layout } = deps;
  const keepIds = options.keepIds ?? 10_000;
  const groups = new Map<string, Sampled[]>();
  for (const entry of await sampleEntries(redis, layout, options)) {
    const id = `${entry.tenant}\n${entry.table}`;
    groups.set(id, [...(groups.get(id) ?? []), entry]);
  }
  const reports: TableCheckReport[] = [];
  const skipped: string[] = [];
  const pending: Array<{ group: Sampled[]; report: TableCheckReport; first: Map<string, string> }> = [];
  for (const group of groups.values()) {
    const startedAt = Date.now();
    const { table, tenant } = group[0] as Sampled;
    const ids = group.map((e) => e.pk);
    const rows = await rowContent(db, mapping, table, ids);
    if (!rows) {
      skipped.push(table);
      continue;
    }
    const served = await servedContent(redis, layout, group);
    const report: TableCheckReport = {
      table,
      index: tenant === 'default' ? CACHE_TARGET : `${CACHE_TARGET} (${tenant})`,
      rows: [...rows.values()].filter((c) => c !== 'null').length,
      docs: [...served.values()].filter((c) => c !== '').length,
      missing: 0,
      stale: 0,
      extra: 0,
      settled: 0,
      truncated: false,
      durationMs: 0,
      startedAt,
      ids: { missing: [], stale: [], extra: [] },
    };
    // first look: entry content + row content of every difference
    const first = new Map<string, string>();
    for (const id of ids) {
      const entry = served.get(id) ?? '';
      const row = rows.get(id);
      if (entry === '' || row === undefined || entry === row) continue;
      first.set(id, `${entry}\n${row}`);
    }
    pending.push({ group, report, first });
    reports.push(report);
  }
  if ((options.recheckAfterMs ?? 0) > 0 && pending.some((p) => p.first.size > 0))
    await new Promise((resolve) => setTimeout(resolve, options.recheckAfterMs));
  for (const { group, report, first } of pending) {
    const ids = [...first.keys()];
    let confirmed = ids;
    if (ids.length > 0 && (options.recheckAfterMs ?? 0) > 0) {
      const again = group.filter((e) => first.has(e.pk));
      const served = await servedContent(redis, layout, again);
      const rows = (await rowContent(db, mapping, report.table, ids)) as Map<string, string>;
      confirmed = ids.filter((id) => `${served.get(id) ?? ''}\n${rows.get(id)}` === first.get(id));
      report.settled = ids.length - confirmed.length;
    }
    for (const id of confirmed) {
      const kind = (first.get(id) as string).endsWith('\nnull') ? 'extra' : 'stale';
      report[kind]++;
      if (report.ids[kind].length < keepIds) report.ids[kind].push(id);
    }
    report.truncated = report.ids.stale.length < report.stale || report.ids.extra.length < report.extra;
    report.durationMs = Date.now() - report.startedAt;
  }
  return { reports, skipped };
}
