// The Redis buffer. Ingest writes through upsert (compare-by-version); a flush reads with takeDue and
// settles what it wrote with ack (compare-and-delete) or retryLater (backoff). No KEYS/SCAN anywhere:
// each shard's pending index is a sorted set. No TTL: unsynced data stays until it is flushed.
// The scripts' KEYS and ARGV come from args.ts; the methods here send them and decode the replies.
import {
  ackIfVersionArgs,
  releaseDelayedArgs,
  retryLaterArgs,
  type ScriptCall,
  takeDueArgs,
  upsertIfNewerArgs,
  type VersionedField,
} from './args.ts';
import { type BufferEntry, type BufferedRecord, decodeValue, type ShardKeys, shardKeys } from './layout.ts';
import { installScripts, numbers, type RedisLike, type ScriptName } from './scripts.ts';

export type { VersionedField };

export interface BufferOptions {
  prefix: string;
  cluster: string;
  shards: number;
  /** Entries per Lua call (bounds how long one script holds Redis). Default 500. */
  chunk?: number;
  /** Backoff of records that failed with a retryable error. Defaults 1 s … 60 s. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export interface UpsertResult {
  /** Rows that were not buffered before. */
  inserted: number;
  /** Buffered older versions overwritten (merged away before reaching Elasticsearch). */
  replaced: number;
  /** Changes not newer than the buffered version. */
  refused: number;
}

export interface ShardStats {
  shard: number;
  /** Records waiting to be flushed, including those waiting for a retry. */
  pending: number;
  /** Of which waiting for a retry backoff. */
  delayed: number;
  /** Time the oldest waiting record was first buffered (ms), or null when the shard is empty. */
  oldestBufferedAt: number | null;
}

/** What ingest needs. */
export interface BufferWriter {
  upsert(entries: readonly BufferEntry[], now?: number): Promise<UpsertResult>;
  totalPending(): Promise<number>;
}

/** What a flush needs. */
export interface ShardBuffer {
  takeDue(shard: number, limit: number, now?: number): Promise<BufferedRecord[]>;
  ack(shard: number, items: readonly VersionedField[]): Promise<{ deleted: number; kept: number }>;
  retryLater(shard: number, items: readonly VersionedField[], now?: number): Promise<Map<string, number>>;
  /** Makes every record waiting for a retry backoff due now; returns how many. */
  releaseDelayed(shard: number, now?: number): Promise<number>;
  stats(shards?: readonly number[]): Promise<ShardStats[]>;
}

export class RedisBuffer implements BufferWriter, ShardBuffer {
  private readonly redis: RedisLike;
  private readonly options: Required<BufferOptions>;
  private readonly keys: ShardKeys[];
  private readonly run: Record<ScriptName, (...args: Array<string | number>) => Promise<unknown>>;

  constructor(redis: RedisLike, options: BufferOptions) {
    this.redis = redis;
    this.options = { chunk: 500, retryBaseMs: 1000, retryMaxMs: 60_000, ...options };
    this.keys = Array.from({ length: options.shards }, (_, shard) =>
      shardKeys(options.prefix, options.cluster, shard),
    );
    this.run = installScripts(redis);
  }

  keysOf(shard: number): ShardKeys {
    const keys = this.keys[shard];
    if (!keys) throw new RangeError(`shard ${shard} is outside 0..${this.keys.length - 1}`);
    return keys;
  }

  private send(script: ScriptName, call: ScriptCall): Promise<unknown> {
    return this.run[script](...call.keys, ...call.args);
  }

  async upsert(entries: readonly BufferEntry[], now = Date.now()): Promise<UpsertResult> {
    const calls = upsertIfNewerArgs(entries, (shard) => this.keysOf(shard), now, this.options.chunk);
    const replies = await Promise.all(calls.map((call) => this.send('upsertIfNewer', call)));
    const result: UpsertResult = { inserted: 0, replaced: 0, refused: 0 };
    for (const reply of replies) {
      const [inserted = 0, replaced = 0, refused = 0] = numbers(reply, 3, 'upsert-if-newer');
      result.inserted += inserted;
      result.replaced += replaced;
      result.refused += refused;
    }
    return result;
  }

  async takeDue(shard: number, limit: number, now = Date.now()): Promise<BufferedRecord[]> {
    const reply = (await this.send('takeDue', takeDueArgs(this.keysOf(shard), now, limit))) as string[];
    const out: BufferedRecord[] = [];
    for (let i = 0; i + 2 < reply.length; i += 3) {
      out.push(decodeValue(reply[i] as string, reply[i + 1] as string, Number(reply[i + 2])));
    }
    return out;
  }

  async ack(shard: number, items: readonly VersionedField[]): Promise<{ deleted: number; kept: number }> {
    let deleted = 0;
    let kept = 0;
    for (const call of ackIfVersionArgs(this.keysOf(shard), items, this.options.chunk)) {
      const [d = 0, k = 0] = numbers(await this.send('ackIfVersion', call), 2, 'ack-if-version');
      deleted += d;
      kept += k;
    }
    return { deleted, kept };
  }

  async releaseDelayed(shard: number, now = Date.now()): Promise<number> {
    const call = releaseDelayedArgs(this.keysOf(shard), now, this.options.chunk);
    let released = 0;
    for (;;) {
      const moved = Number(await this.send('releaseDelayed', call));
      released += moved;
      if (moved < this.options.chunk) return released;
    }
  }

  async retryLater(
    shard: number,
    items: readonly VersionedField[],
    now = Date.now(),
  ): Promise<Map<string, number>> {
    const backoff = { baseMs: this.options.retryBaseMs, maxMs: this.options.retryMaxMs };
    const calls = retryLaterArgs(this.keysOf(shard), items, now, backoff, this.options.chunk);
    const out = new Map<string, number>();
    for (const call of calls) {
      const reply = (await this.send('retryLater', call)) as Array<string | number>;
      for (let j = 0; j + 1 < reply.length; j += 2) out.set(String(reply[j]), Number(reply[j + 1]));
    }
    return out;
  }

  async stats(shards: readonly number[] = this.keys.map((_, i) => i)): Promise<ShardStats[]> {
    return Promise.all(
      shards.map(async (shard) => {
        const { pending, delay } = this.keysOf(shard);
        const [waiting, delayed, oldest] = await Promise.all([
          this.redis.zcard(pending),
          this.redis.zcard(delay),
          this.redis.zrange(pending, 0, 0, 'WITHSCORES'),
        ]);
        return {
          shard,
          pending: waiting + delayed,
          delayed,
          oldestBufferedAt: oldest.length === 2 ? Number(oldest[1]) : null,
        };
      }),
    );
  }

  async totalPending(): Promise<number> {
    const stats = await this.stats();
    return stats.reduce((sum, s) => sum + s.pending, 0);
  }

  /** Removes every key of every shard (tests and `sluice` maintenance only). */
  async clear(): Promise<void> {
    await Promise.all(this.keys.map((k) => this.redis.del(k.rec, k.pending, k.delay, k.attempts)));
  }
}
