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
// - Invalidations arrive by pub/sub (InvalidationListener); after a break in the subscription the
//   whole L1 is dropped. Worst case, if invalidations stop arriving without a break (a writer that
//   does not invalidate), an entry is stale for at most its TTL: L1's, then L2's.
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { type CacheLayout, cacheKey, DEFAULT_TENANT, guardKey, type RowRef } from './keys.ts';

export interface CacheEvents {
  hit(level: 'l1' | 'l2', negative: boolean): void;
  miss(): void;
  load(seconds: number, outcome: 'stored' | 'not_stored' | 'error'): void;
  invalidated(keys: number, delaySeconds: number): void;
}

export interface RowCacheOptions<V> {
  redis: Redis;
  layout: CacheLayout;
  tenant?: string;
  /** Reads the row from the database: the row, or null when there is none. */
  loader: (row: RowRef) => Promise<V | null>;
  l1Max?: number;
  l1TtlMs?: number;
  l2TtlMs?: number;
  /** How long "no row" is cached (both levels). */
  negativeTtlMs?: number;
  events?: Partial<CacheEvents>;
}

/** Stores the loaded value only if the row's guard is still the one seen before the load. */
const STORE_IF_UNCHANGED = `
local g = redis.call('GET', KEYS[2]) or ''
if g ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`;

type Held<V> = { value: V | null };

export class RowCache<V> {
  private readonly options: Required<Omit<RowCacheOptions<V>, 'events' | 'tenant'>> & { tenant: string };
  private readonly events: Partial<CacheEvents>;
  private readonly l1: LRUCache<string, Held<V>>;
  private readonly flights = new Map<string, { promise: Promise<V | null>; invalidated: boolean }>();

  constructor(options: RowCacheOptions<V>) {
    this.options = {
      l1Max: 1000,
      l1TtlMs: 300_000,
      l2TtlMs: 1_800_000,
      negativeTtlMs: 60_000,
      ...options,
      tenant: options.tenant ?? DEFAULT_TENANT,
    };
    this.events = options.events ?? {};
    this.l1 = new LRUCache<string, Held<V>>({ max: this.options.l1Max, ttl: this.options.l1TtlMs });
  }

  keyOf(row: RowRef): string {
    return cacheKey(this.options.layout, this.options.tenant, row);
  }

  async get(row: RowRef): Promise<V | null> {
    const key = this.keyOf(row);
    const local = this.l1.get(key);
    if (local) {
      this.events.hit?.('l1', local.value === null);
      return local.value;
    }
    const flying = this.flights.get(key);
    if (flying) return flying.promise;
    const flight = { promise: undefined as unknown as Promise<V | null>, invalidated: false };
    flight.promise = this.fetch(row, key, flight).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    this.flights.set(key, flight);
    return flight.promise;
  }

  private async fetch(row: RowRef, key: string, flight: { invalidated: boolean }): Promise<V | null> {
    const { redis, loader, l2TtlMs, negativeTtlMs } = this.options;
    const [stored, guard] = (await redis.mget(key, guardKey(key))) as [string | null, string | null];
    if (stored !== null) {
      const held = JSON.parse(stored) as Held<V>;
      this.events.hit?.('l2', held.value === null);
      if (!flight.invalidated) this.keepLocal(key, held);
      return held.value;
    }
    this.events.miss?.();
    const started = performance.now();
    let value: V | null;
    try {
      value = await loader(row);
    } catch (error) {
      this.events.load?.((performance.now() - started) / 1000, 'error');
      throw error;
    }
    const held: Held<V> = { value };
    const ttl = value === null ? negativeTtlMs : l2TtlMs;
    const kept = Number(
      await redis.eval(
        STORE_IF_UNCHANGED,
        2,
        key,
        guardKey(key),
        guard ?? '',
        JSON.stringify(held),
        String(ttl),
      ),
    );
    this.events.load?.((performance.now() - started) / 1000, kept === 1 ? 'stored' : 'not_stored');
    if (kept === 1 && !flight.invalidated) this.keepLocal(key, held);
    return value;
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

  /** Drops the whole L1 (invalidations may have been missed). */
  gap(): void {
    this.l1.clear();
    for (const flight of this.flights.values()) flight.invalidated = true;
  }

  /** Entries in L1 now. */
  localSize(): number {
    return this.l1.size;
  }
}
