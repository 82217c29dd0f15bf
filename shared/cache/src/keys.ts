// The cache's keys: a row is named as Sluice names it everywhere (table key "db.table" and the
// primary key encoded by core/pk.ts), under the cluster's prefix and a tenant. Every key of a table
// shares the hash tag "{<prefix>:cache:<tenant>:<db.table>}", so on a Redis Cluster a table's rows,
// guards and clock are in one slot and each script touches one slot (tables spread over the slots):
//
//   {<prefix>:cache:<tenant>:<db.table>}:<pk>         the cached row (JSON: the row, or null = no row)
//   {<prefix>:cache:<tenant>:<db.table>}:<pk>:guard   the clock value of the row's last invalidation
//   {<prefix>:cache:<tenant>:<db.table>}:@table       the clock value of the table's last invalidation
//                                                     (DDL, TRUNCATE: every row of it at once; "@"
//                                                     never appears in an encoded pk)
//   {<prefix>:cache:<tenant>:<db.table>}:@clock       the table's invalidation clock (never repeats)
//   <prefix>:cache:invalidations                      the pub/sub channel of invalidated keys
export interface CacheLayout {
  /** `<SLUICE_REDIS_PREFIX>:<SLUICE_CLUSTER>` of the deployment whose changes invalidate the cache. */
  prefix: string;
}

export interface RowRef {
  /** "db.table" (core/shard.ts tableKey). */
  table: string;
  /** The encoded primary key (core/pk.ts encodePk). */
  pk: string;
}

export const DEFAULT_TENANT = 'default';

/** The hash tag of a table's keys, with the separator: what every key of the table starts with. */
function tableTag(layout: CacheLayout, tenant: string, table: string): string {
  return `{${layout.prefix}:cache:${tenant}:${table}}:`;
}

export function cacheKey(layout: CacheLayout, tenant: string, row: RowRef): string {
  return `${tableTag(layout, tenant, row.table)}${row.pk}`;
}

export function guardKey(entryKey: string): string {
  return `${entryKey}:guard`;
}

/** The table's guard: an entry loaded before the table's last invalidation is not served. */
export function tableGuardKey(layout: CacheLayout, tenant: string, table: string): string {
  return `${tableTag(layout, tenant, table)}@table`;
}

/** What every entry key of a table starts with (to drop a table's entries from L1). */
export function tableEntryPrefix(layout: CacheLayout, tenant: string, table: string): string {
  return tableTag(layout, tenant, table);
}

/** The table's invalidation clock: INCR, a new one starting at the time in µs, so it never repeats. */
export function clockKey(layout: CacheLayout, tenant: string, table: string): string {
  return `${tableTag(layout, tenant, table)}@clock`;
}

export function invalidationChannel(layout: CacheLayout): string {
  return `${layout.prefix}:cache:invalidations`;
}

/** What a SCAN for the cache's keys matches (a brace is no glob character). */
export function cacheKeyPattern(layout: CacheLayout): string {
  return `{${layout.prefix}:cache:*`;
}

/** An entry key back to its tenant and row; undefined for the cache's other keys (guards, clock). */
export function parseCacheKey(layout: CacheLayout, key: string): { tenant: string; row: RowRef } | undefined {
  const head = `{${layout.prefix}:cache:`;
  if (!key.startsWith(head)) return undefined;
  const rest = key.slice(head.length);
  const first = rest.indexOf(':');
  const close = rest.lastIndexOf('}:');
  if (first <= 0 || close <= first + 1) return undefined;
  const pk = rest.slice(close + 2);
  if (pk === '' || pk.includes(':') || pk.startsWith('@')) return undefined;
  return { tenant: rest.slice(0, first), row: { table: rest.slice(first + 1, close), pk } };
}
