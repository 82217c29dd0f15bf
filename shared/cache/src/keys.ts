// The cache's keys: a row is named as Sluice names it everywhere (table key "db.table" and the
// primary key encoded by core/pk.ts), under the cluster's prefix and a tenant:
//
//   <prefix>:cache:<tenant>:<db.table>:<pk>          the cached row (JSON: the row, or null = no row)
//   <prefix>:cache:<tenant>:<db.table>:<pk>:guard    the clock value of the row's last invalidation
//   <prefix>:cache:clock                             the invalidation clock (INCR: never repeats)
//   <prefix>:cache:invalidations                     the pub/sub channel of invalidated keys
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

export function cacheKey(layout: CacheLayout, tenant: string, row: RowRef): string {
  return `${layout.prefix}:cache:${tenant}:${row.table}:${row.pk}`;
}

export function guardKey(entryKey: string): string {
  return `${entryKey}:guard`;
}

export function clockKey(layout: CacheLayout): string {
  return `${layout.prefix}:cache:clock`;
}

export function invalidationChannel(layout: CacheLayout): string {
  return `${layout.prefix}:cache:invalidations`;
}
