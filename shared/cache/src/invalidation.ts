// Invalidation by the change stream. The writer (ingest, once a batch is in the buffer and the
// backup) calls `invalidate` with the rows the batch changed; one script per table and chunk of rows
//
//   c = INCR clock;  for each row: SET <entry>:guard c PX <guard ttl>; DEL <entry>;  PUBLISH keys
//
// so the L2 entry is gone, the row's guard holds a value never used before (the clock only grows,
// and a new clock starts at the time in microseconds, so not even a Redis that lost its data reuses
// a value a load in flight may have noted), and every process's L1 hears which keys to drop. A load
// that read the row before the change compares the guard it saw with the guard now before it stores
// anything (cache.ts): it differs, so the old row is not cached. Guards outlive the longest load (an
// hour by default). A table invalidated as a whole (`invalidateTables`: DDL, TRUNCATE) gets a new
// clock value in its table guard; L2 entries loaded under another table guard are not served, and
// L1s drop its entries. Each table has its own clock, in its hash slot (keys.ts): every script
// touches the keys of one table, so it runs on a Redis Cluster as on one Redis.
import type { Cluster, Redis } from 'ioredis';
import {
  type CacheLayout,
  cacheKey,
  clockKey,
  DEFAULT_TENANT,
  guardKey,
  invalidationChannel,
  type RowRef,
  tableGuardKey,
} from './keys.ts';

// A new clock (first use, or a Redis that lost its data) starts at the time in microseconds, above
// every value the clock of an earlier life of this Redis can have reached.
const NEXT_CLOCK = `
local c = redis.call('INCR', KEYS[1])
if c < 1000000000000000 then
  local t = redis.call('TIME')
  c = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('SET', KEYS[1], string.format('%d', c))
end
local g = string.format('%d', c)
`;

/** KEYS: the table's clock, then (entry, its guard) pairs. ARGV: guard TTL, channel, message. */
const INVALIDATE_ROWS = `${NEXT_CLOCK}
for i = 2, #KEYS, 2 do
  redis.call('SET', KEYS[i + 1], g, 'PX', ARGV[1])
  redis.call('DEL', KEYS[i])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return g
`;

/** KEYS: the table's clock, its table guard. ARGV: guard TTL, channel, message. */
const INVALIDATE_TABLE = `${NEXT_CLOCK}
redis.call('SET', KEYS[2], g, 'PX', ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return g
`;

export interface InvalidationMessage {
  keys: string[];
  /** Tables invalidated as a whole (of `tenant`). */
  tables?: string[];
  tenant?: string;
  /** When the writer invalidated them (ms since the epoch), for the delay metric. */
  at: number;
}

/** How long guards live by default: the longest a load may take, and the longest an L2 entry may live. */
export const GUARD_TTL_MS = 3_600_000;

export class CacheInvalidator {
  private readonly redis: Redis | Cluster;
  private readonly layout: CacheLayout;
  private readonly guardTtlMs: number;
  private readonly chunk: number;

  constructor(
    redis: Redis | Cluster,
    layout: CacheLayout,
    options: { guardTtlMs?: number; chunk?: number } = {},
  ) {
    this.redis = redis;
    this.layout = layout;
    this.guardTtlMs = options.guardTtlMs ?? GUARD_TTL_MS;
    this.chunk = options.chunk ?? 1000;
  }

  /** Invalidates rows (duplicates are fine); resolves once Redis has done it and told the listeners. */
  async invalidate(rows: readonly RowRef[], tenant = DEFAULT_TENANT): Promise<void> {
    const byTable = new Map<string, Set<string>>();
    for (const row of rows) {
      const keys = byTable.get(row.table) ?? new Set<string>();
      byTable.set(row.table, keys);
      keys.add(cacheKey(this.layout, tenant, row));
    }
    const channel = invalidationChannel(this.layout);
    const calls: Array<Promise<unknown>> = [];
    for (const [table, set] of byTable) {
      const keys = [...set];
      for (let i = 0; i < keys.length; i += this.chunk) {
        const part = keys.slice(i, i + this.chunk);
        const message: InvalidationMessage = { keys: part, at: Date.now() };
        const declared = [
          clockKey(this.layout, tenant, table),
          ...part.flatMap((key) => [key, guardKey(key)]),
        ];
        calls.push(
          this.redis.eval(
            INVALIDATE_ROWS,
            declared.length,
            ...declared,
            String(this.guardTtlMs),
            channel,
            JSON.stringify(message),
          ),
        );
      }
    }
    await Promise.all(calls);
  }

  /**
   * Invalidates every row of these tables at once (a DDL or TRUNCATE changed rows without row
   * events). The table guards outlive every L2 entry (their TTL is the guard TTL, at least the L2's).
   */
  async invalidateTables(tables: readonly string[], tenant = DEFAULT_TENANT): Promise<void> {
    const channel = invalidationChannel(this.layout);
    await Promise.all(
      [...new Set(tables)].map((table) => {
        const message: InvalidationMessage = { keys: [], tables: [table], tenant, at: Date.now() };
        return this.redis.eval(
          INVALIDATE_TABLE,
          2,
          clockKey(this.layout, tenant, table),
          tableGuardKey(this.layout, tenant, table),
          String(this.guardTtlMs),
          channel,
          JSON.stringify(message),
        );
      }),
    );
  }
}

/** What the listener hands each message to: a RowCache, or anything that keeps rows. */
export interface InvalidationTarget {
  drop(keys: readonly string[], at: number): void;
  dropTables?(tables: readonly string[], tenant: string, at: number): void;
  gap(): void;
}

/**
 * One subscription per process to the invalidations of a deployment, handing each message to the
 * caches registered with it. After the subscription was broken (Redis restarted, network), messages
 * may have been missed: every cache is told to drop its whole L1 (`gap`).
 */
export class InvalidationListener {
  private readonly subscriber: Redis | Cluster;
  private readonly channel: string;
  private readonly targets = new Set<InvalidationTarget>();
  private subscribedOnce = false;

  constructor(subscriber: Redis | Cluster, layout: CacheLayout) {
    this.subscriber = subscriber;
    this.channel = invalidationChannel(layout);
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
      let message: InvalidationMessage;
      try {
        message = JSON.parse(text) as InvalidationMessage;
      } catch {
        for (const target of this.targets) target.gap(); // unreadable: assume the worst
        return;
      }
      for (const target of this.targets) {
        if (message.keys.length > 0) target.drop(message.keys, message.at);
        if (message.tables) target.dropTables?.(message.tables, message.tenant ?? DEFAULT_TENANT, message.at);
      }
    });
    // ioredis re-subscribes by itself after a reconnect; whatever was published meanwhile is lost
    subscriber.on('ready', () => {
      if (this.subscribedOnce) for (const target of this.targets) target.gap();
    });
  }

  async start(): Promise<void> {
    await this.subscriber.subscribe(this.channel);
    this.subscribedOnce = true;
  }

  register(target: InvalidationTarget): () => void {
    this.targets.add(target);
    return () => this.targets.delete(target);
  }

  async stop(): Promise<void> {
    await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }
}
