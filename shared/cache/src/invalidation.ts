// Invalidation by the change stream. The writer (ingest, once a batch is in the buffer and the
// backup) calls `invalidate` with the rows the batch changed; one script per chunk of rows
//
//   c = INCR clock;  for each row: SET <entry>:guard c PX <guard ttl>; DEL <entry>;  PUBLISH keys
//
// so the L2 entry is gone, the row's guard holds a value never used before (the clock only grows,
// and a new clock starts at the time in microseconds, so not even a Redis that lost its data reuses
// a value a load in flight may have noted), and every process's L1 hears which keys to drop. A load that read the row before the
// change compares the guard it saw with the guard now before it stores anything (cache.ts): it
// differs, so the old row is not cached. Guards outlive the longest load (an hour by default).
import type { Redis } from 'ioredis';
import {
  type CacheLayout,
  cacheKey,
  clockKey,
  DEFAULT_TENANT,
  invalidationChannel,
  type RowRef,
} from './keys.ts';

const INVALIDATE = `
local c = redis.call('INCR', KEYS[1])
if c < 1000000000000000 then
  -- a new clock (first use, or a Redis that lost its data): start it at the time in microseconds,
  -- above every value the clock of an earlier life of this Redis can have reached
  local t = redis.call('TIME')
  c = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('SET', KEYS[1], string.format('%d', c))
end
local g = string.format('%d', c)
for i = 3, #ARGV do
  redis.call('SET', ARGV[i] .. ':guard', g, 'PX', ARGV[1])
  redis.call('DEL', ARGV[i])
end
redis.call('PUBLISH', KEYS[2], ARGV[2])
return g
`;

export interface InvalidationMessage {
  keys: string[];
  /** When the writer invalidated them (ms since the epoch), for the delay metric. */
  at: number;
}

export class CacheInvalidator {
  private readonly redis: Redis;
  private readonly layout: CacheLayout;
  private readonly guardTtlMs: number;
  private readonly chunk: number;

  constructor(redis: Redis, layout: CacheLayout, options: { guardTtlMs?: number; chunk?: number } = {}) {
    this.redis = redis;
    this.layout = layout;
    this.guardTtlMs = options.guardTtlMs ?? 3_600_000;
    this.chunk = options.chunk ?? 1000;
  }

  /** Invalidates rows (duplicates are fine); resolves once Redis has done it and told the listeners. */
  async invalidate(rows: readonly RowRef[], tenant = DEFAULT_TENANT): Promise<void> {
    const keys = [...new Set(rows.map((row) => cacheKey(this.layout, tenant, row)))];
    for (let i = 0; i < keys.length; i += this.chunk) {
      const part = keys.slice(i, i + this.chunk);
      const message: InvalidationMessage = { keys: part, at: Date.now() };
      await this.redis.eval(
        INVALIDATE,
        2,
        clockKey(this.layout),
        invalidationChannel(this.layout),
        String(this.guardTtlMs),
        JSON.stringify(message),
        ...part,
      );
    }
  }
}

/**
 * One subscription per process to the invalidations of a deployment, handing each message to the
 * caches registered with it. After the subscription was broken (Redis restarted, network), messages
 * may have been missed: every cache is told to drop its whole L1 (`gap`).
 */
export class InvalidationListener {
  private readonly subscriber: Redis;
  private readonly channel: string;
  private readonly targets = new Set<{ drop(keys: readonly string[], at: number): void; gap(): void }>();
  private subscribedOnce = false;

  constructor(subscriber: Redis, layout: CacheLayout) {
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
      for (const target of this.targets) target.drop(message.keys, message.at);
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

  register(target: { drop(keys: readonly string[], at: number): void; gap(): void }): () => void {
    this.targets.add(target);
    return () => this.targets.delete(target);
  }

  async stop(): Promise<void> {
    await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }
}
