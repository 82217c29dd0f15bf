// A two-level row cache (design document 000 §3, without its flaw): L1 in this process (lru-cache:
// 1,000 entries for 5 minutes by default), L2 in Redis (30 minutes), then the loader (the database).
//
// - get: L1, else L2, else one load per key at a time in this process (single flight); "no row" is
//   cached too, for a shorter time (negative caching).
// - The rule that keeps a racing load from caching an old row: the load first notes the row's guard
//   (its last invalidation's clock value, read with the L2 lookup), reads the database, and stores
//   the result in L2 only if the guard is still the same (one script), and in L1 only if no
//   invalidation of the key reached this process while it loaded. An invalidation (invalidation.ts)
//   changes the guard before it deletes the entry, so a load that read the row before a change
//   never stores it after the change's invalidation; the caller still gets what it read.
// - A table can be invalidated as a whole (DDL, TRUNCATE): its table guard changes; an L2 entry
//   stores the table guard seen at its load and is served only while that is still the table's,
//   and a store is refused if either guard changed during the load; L1s drop the table's entries.
// - Invalidations arrive by pub/sub (InvalidationListener); after a break in the subscription the
//   whole L1 is dropped. Worst case, if invalidations stop arriving without a break (a writer that
//   does not invalidate), an entry is stale for at most its TTL: L1's, then L2's.
import type { Cluster, Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { GUARD_TTL_MS } from './invalidation.ts';
import {
  type CacheLayout,
  cacheKey,
  DEFAULT_TENANT,
  guardKey,
  type RowRef,
  tableEntryPrefix,
  tableGuardKey,
} from './keys.ts';

export interface CacheEvents {
  hit(level: 'l1' | 'l2', negative: boolean): void;
  miss(): void;
  load(seconds: number, outcome: 'stored' | 'not_stored' | 'error'): void;
  /** Keys (or whole tables) dropped from L1 by an invalidation, and how long after it was made. */
  invalidated(keys: number, delaySeconds: number): void;
  /** The whole L1 dropped: the subscription broke, invalidations may have been missed. */
  gap(): void;
}

/** Where a get found its answer: L1, L2, or the loader (itself or a load in flight it joined). */
export type Source = 'l1' | 'l2' | 'loader';

export interface RowCacheOptions<V> {
  redis: Redis | Cluster;
  layout: CacheLayout;
  tenant?: string;
  /**
   * Reads the row from the database: the row, or null when there is none. `tableGuard` is the
   * table's guard seen before this load: a loader that keeps anything per table (its columns) must
   * read it again when the guard is not the one it was read under (a DDL statement invalidated it).
   */
  loader: (row: RowRef, seen: { tableGuard: string }) => Promise<V | null>;
  l1Max?: number;
  l1TtlMs?: number;
  /**
   * At most the invalidator's guard TTL (GUARD_TTL_MS, an hour): a table guard must outlive every
   * entry loaded before it.
   */
  l2TtlMs?: number;
  /** How long "no row" is cached (both levels). */
  negativeTtlMs?: number;
  events?: Partial<CacheEvents>;
}

/** Stores the loaded value only if the row's and the table's guards are still those seen before the load. */
const STORE_IF_UNCHANGED = `
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
if (redis.call('GET', KEYS[3]) or '') ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
`;

/** An entry: the row (null: no row) and the table guard when it was loaded ("" for none). */
type Held<V> = { value: V | null; table?: string };
type Found<V> = { value: V | null; from: Source };
type Flight<V> = { promise: Promise<Found<V>>; invalidated: boolean };

export class RowCache<V> {
  private readonly options: Required<Omit<RowCacheOptions<V>, 'events' | 'tenant'>> & { tenant: string };
  private readonly events: Partial<CacheEvents>;
  private readonly l1: LRUCache<string, Held<V>>;
  private readonly flights = new Map<string, Flight<V>>();

  constructor(options: RowCacheOptions<V>) {
    this.options = {
      l1Max: 1000,
      l1TtlMs: 300_000,
      l2TtlMs: 1_800_000,
      negativeTtlMs: 60_000,
      ...options,
      tenant: options.tenant ?? DEFAULT_TENANT,
    };
    if (this.options.l2TtlMs > GUARD_TTL_MS)
      throw new RangeError(`the L2 TTL may be at most ${GUARD_TTL_MS} ms (the guards' lifetime)`);
    this.events = options.events ?? {};
    this.l1 = new LRUCache<string, Held<V>>({ max: this.options.l1Max, ttl: this.options.l1TtlMs });
  }

  keyOf(row: RowRef): string {
    return cacheKey(this.options.layout, this.options.tenant, row);
  }

  async get(row: RowRef): Promise<V | null> {
    return (await this.read(row)).value;
  }

  /** A get that also says where the answer came from. */
  async read(row: RowRef): Promise<Found<V>> {
    const key = this.keyOf(row);
    const local = this.l1.get(key);
    if (local) {
      this.events.hit?.('l1', local.value === null);
      return { value: local.value, from: 'l1' };
    }
    const flying = this.flights.get(key);
    if (flying) return flying.promise;
    const flight: Flight<V> = { promise: undefined as unknown as Promise<Found<V>>, invalidated: false };
    flight.promise = this.fetch(row, key, flight).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight.promise;
  }

  private async fetch(row: RowRef, key: string, flight: { invalidated: boolean }): Promise<Found<V>> {
    const { redis, loader, l2TtlMs, negativeTtlMs, layout, tenant } = this.options;
    const tableGuard = tableGuardKey(layout, tenant, row.table);
    const [stored, guard, table] = (await redis.mget(key, guardKey(key), tableGuard)) as [
      string | null,
      string | null,
      string | null,
    ];
    if (stored !== null) {
      const held = JSON.parse(stored) as Held<V>;
      // loaded before the table's last invalidation: not served (the load below replaces it)
      if ((held.table ?? '') === (table ?? '')) {
        this.events.hit?.('l2', held.value === null);
        if (!flight.invalidated) this.keepLocal(key, held);
        return { value: held.value, from: 'l2' };
      }
    }
    this.events.miss?.();
    const started = performance.now();
    let value: V | null;
    try {
      value = await loader(row, { tableGuard: table ?? '' });
    } catch (error) {
      this.events.load?.((performance.now() - started) / 1000, 'error');
      throw error;
    }
    if (flight.invalidated) {
      // an invalidation of the key (or a broken subscription) came during the load: store nothing
      this.events.load?.((performance.now() - started) / 1000, 'not_stored');
      return { value, from: 'loader' };
    }
    const held: Held<V> = { value, table: table ?? '' };
    const ttl = value === null ? negativeTtlMs : l2TtlMs;
    const kept = Number(
      await redis.eval(
        STORE_IF_UNCHANGED,
        3,
        key,
        guardKey(key),
        tableGuard,
        guard ?? '',
        table ?? '',
        JSON.stringify(held),
        String(ttl),
      ),
    );
    this.events.load?.((performance.now() - started) / 1000, kept === 1 ? 'stored' : 'not_stored');
    if (kept === 1 && !flight.invalidated) this.keepLocal(key, held);
    return { value, from: 'loader' };
  }

  private keepLocal(key: string, held: Held<V>): void {
    const { l1TtlMs, negativeTtlMs } = this.options;
    this.l1.set(key, held, { ttl: held.value === null ? Math.min(l1TtlMs, negativeTtlMs) : l1TtlMs });
  }

  /** Drops keys from L1 (an invalidation message); loads of them in flight store nothing locally. */
  drop(keys: readonly string[], at = Date.now()): void {
    for (const key of keys) {
      this.l1.delete(key);
      const flight = this.flights.get(key);
      if (flight) flight.invalidated = true;
    }
    this.events.invalidated?.(keys.length, Math.max(0, (Date.now() - at) / 1000));
  }

  /** Drops every entry of these tables from L1 (a table invalidated as a whole) if of this cache's tenant. */
  dropTables(tables: readonly string[], tenant: string, at = Date.now()): void {
    const { layout } = this.options;
    if (tenant !== this.options.tenant || tables.length === 0) return;
    const prefixes = tables.map((table) => tableEntryPrefix(layout, tenant, table));
    const ofTables = (key: string) => prefixes.some((prefix) => key.startsWith(prefix));
    let dropped = 0;
    for (const key of [...this.l1.keys()]) {
      if (ofTables(key)) {
        this.l1.delete(key);
        dropped++;
      }
    }
    for (const [key, flight] of this.flights) if (ofTables(key)) flight.invalidated = true;
    this.events.invalidated?.(dropped, Math.max(0, (Date.now() - at) / 1000));
  }

  /** Drops the whole L1 (invalidations may have been missed). */
  gap(): void {
    this.l1.clear();
    for (const flight of this.flights.values()) flight.invalidated = true;
    this.events.gap?.();
  }

  /** Entries in L1 now. */
  localSize(): number {
    return this.l1.size;
  }
}
