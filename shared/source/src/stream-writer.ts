// The writing side of the stream layout (streams.ts), used by `sluice relay`:
//
// - append: one script per stream and batch adds the entries as "<seq>-0", seq = the stream's last
//   + 1, and keeps, per stream and per relay source (a Canal destination), the binlog position of
//   the last entry written. An entry at or before that position is skipped: it was written before
//   and Canal served it again (a batch not acknowledged when a relay died, or a Canal restart that
//   resumed from a position saved up to a second earlier). So each binlog event is in the stream once,
//   and versions never see the same change twice at two offsets. The sequence lives beside the
//   position (`<stream>:relay`, field seq), so it goes on increasing even when trimming emptied
//   the stream.
// - trim: one script per stream computes the oldest entry any consumer group still needs (its
//   lowest pending entry, else the one after its last delivered) and trims below the lower of that
//   and the length bound; with no group yet it keeps everything (all of it counts as not
//   acknowledged). It returns how many entries are not acknowledged, for the relay's backpressure.
// - durability: what the stream Redis promises about an acknowledged write.
import { mastersOf } from '@sluice/buffer';
import type { Cluster, Redis } from 'ioredis';
import { type StreamLayout, streamKey, untaggedStreamKey } from './streams.ts';

/** The lease of the one relay that reads a Canal destination (`source`) into this cluster's streams. */
export function relayLeaseKey(layout: StreamLayout, source: string): string {
  return `${layout.prefix}:${layout.cluster}:relay:${source}:lease`;
}

/** The relay's state of stream n: its sequence and, per source, the last binlog position written. */
export function streamRelayKey(layout: StreamLayout, partition: number): string {
  return `${streamKey(layout, partition)}:relay`;
}

/** A binlog position: the file's number (mysql-bin.000042 → 42) and the offset in it. */
export interface BinlogPosition {
  file: string;
  offset: number;
}

/** The number at the end of a binlog file name; 0 when it has none. */
export function binlogFileNumber(file: string): number {
  const match = /(\d+)$/.exec(file);
  return match ? Number(match[1]) : 0;
}

export interface StreamEntry {
  position: BinlogPosition;
  /** Canal's flat message JSON (field m). */
  message: string;
}

export interface AppendResult {
  written: number;
  /** Entries at or before the last position written for this source (served again by Canal). */
  skipped: number;
  /** The stream's sequence after the append (its last entry's offset). */
  lastSeq: number;
}

export interface TrimResult {
  /** Entries some consumer group has not acknowledged (delivered and pending, or not delivered). */
  unacknowledged: number;
  removed: number;
  /** false when no consumer group exists yet (nothing is trimmed then, every entry is unacknowledged). */
  read: boolean;
}

// The stream's last sequence (KEYS[1] the stream, KEYS[2] its relay state): the larger of the saved
// one and the top entry's, so it goes on after trimming emptied the stream.
const LAST_SEQ = `
local seq = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if top[1] then
  local s = tonumber(string.match(top[1][1], '^(%d+)%-'))
  if s and s > seq then seq = s end
end
`;

const APPEND = `
if ARGV[3] ~= '' and redis.call('HGET', KEYS[2], 'writer:' .. ARGV[1]) ~= ARGV[3] then
  return redis.error_reply('NOTHOLDER another relay has claimed the streams of this Canal destination')
end
${LAST_SEQ}local field = 'pos:' .. ARGV[1]
local lastFile, lastOffset = -1, -1
local saved = redis.call('HGET', KEYS[2], field)
if saved then
  local f, o = string.match(saved, '^(%d+):(%d+)$')
  lastFile, lastOffset = tonumber(f), tonumber(o)
end
local written, skipped = 0, 0
for i = 4, #ARGV, 4 do
  local file, offset = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if file > lastFile or (file == lastFile and offset > lastOffset) then
    seq = seq + 1
    redis.call('XADD', KEYS[1], string.format('%d-0', seq), 'm', ARGV[i + 3], 'pos', ARGV[i + 2], 'ts', ARGV[2])
    lastFile, lastOffset = file, offset
    written = written + 1
  else
    skipped = skipped + 1
  end
end
if written > 0 then
  redis.call('HSET', KEYS[2], 'seq', string.format('%d', seq), field, string.format('%d:%d', lastFile, lastOffset))
end
return {written, skipped, string.format('%d', seq)}
`;

/**
 * Renames the streams of an earlier layout, whose keys had no hash tag, to this one's, with their
 * consumer groups and the relay's sequence, so versions go on. Both the relay and the redis-stream
 * source call it at start, before they write or create anything (RENAMENX: whichever comes first
 * renames). Only on one Redis: a cluster could never run that layout. Returns the keys renamed.
 */
export async function adoptUntaggedStreams(redis: Redis | Cluster, layout: StreamLayout): Promise<number> {
  if (redis.isCluster) return 0;
  let renamed = 0;
  for (let n = 0; n < layout.partitions; n++) {
    const old = untaggedStreamKey(layout, n);
    for (const [from, to] of [
      [old, streamKey(layout, n)],
      [`${old}:relay`, streamRelayKey(layout, n)],
    ] as const) {
      if (!(await redis.exists(from))) continue;
      if ((await redis.renamenx(from, to)) !== 1)
        throw new Error(`both ${from} (an earlier layout) and ${to} exist: move the entries by hand`);
      renamed++;
    }
  }
  return renamed;
}

const DISCLAIM = `if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end return 1`;

const TRIM = `
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if not top[1] then return {0, 0, 1} end
local last = tonumber(string.match(top[1][1], '^(%d+)%-'))
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return {redis.call('XLEN', KEYS[1]), 0, 0} end
local cut
for _, g in ipairs(groups) do
  local h = {}
  for i = 1, #g, 2 do h[g[i]] = g[i + 1] end
  local c
  if tonumber(h['pending']) > 0 then
    local p = redis.call('XPENDING', KEYS[1], h['name'])
    c = tonumber(string.match(p[2], '^(%d+)%-'))
  else
    c = tonumber(string.match(h['last-delivered-id'], '^(%d+)%-')) + 1
  end
  if cut == nil or c < cut then cut = c end
end
local unacked = last - cut + 1
if unacked < 0 then unacked = 0 end
local target = last - tonumber(ARGV[1]) + 1
if target > cut then target = cut end
if target > last then target = last end
local removed = 0
if target > 1 then
  removed = redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d-0', target))
end
return {unacked, removed, 1}
`;

export class StreamWriter {
  private readonly redis: Redis | Cluster;
  private readonly layout: StreamLayout;

  constructor(redis: Redis | Cluster, layout: StreamLayout) {
    this.redis = redis;
    this.layout = layout;
  }

  /**
   * Makes `holder` the one writer of `source` on every stream: from now on a fenced append of any
   * other holder fails. The relay claims right after it took its destination's lease and before it
   * reads Canal, so a relay that lost the lease (frozen, cut off) is fenced out of each stream by the
   * next one's claim, on one Redis as on a cluster, where the lease and the streams are in other
   * slots and no script can read both. (Writes of two relays never duplicate an entry either way:
   * the position rule skips what was written.)
   */
  async claim(source: string, holder: string): Promise<void> {
    await Promise.all(
      Array.from({ length: this.layout.partitions }, (_, n) =>
        this.redis.hset(streamRelayKey(this.layout, n), `writer:${source}`, holder),
      ),
    );
  }

  /** Gives the claim up (a relay that stops): a fenced append of `holder` fails from now on. */
  async disclaim(source: string, holder: string): Promise<void> {
    await Promise.all(
      Array.from({ length: this.layout.partitions }, (_, n) =>
        this.redis.eval(DISCLAIM, 1, streamRelayKey(this.layout, n), `writer:${source}`, holder),
      ),
    );
  }

  /**
   * Appends a batch's entries for one stream, in order, skipping those written before. With a
   * fence, only while `holder` is the claimed writer of `source` (else the call fails, writes nothing).
   */
  async append(
    partition: number,
    source: string,
    entries: readonly StreamEntry[],
    now: number,
    fence?: { holder: string },
  ): Promise<AppendResult> {
    const args: string[] = [source, String(now), fence?.holder ?? ''];
    for (const { position, message } of entries) {
      args.push(
        String(binlogFileNumber(position.file)),
        String(position.offset),
        `${position.file}:${position.offset}`,
        message,
      );
    }
    const [written, skipped, lastSeq] = (await this.redis.eval(
      APPEND,
      2,
      streamKey(this.layout, partition),
      streamRelayKey(this.layout, partition),
      ...args,
    )) as [number, number, string];
    return { written, skipped, lastSeq: Number(lastSeq) };
  }

  /** Trims acknowledged entries beyond `maxLength`; never an entry a group has not acknowledged. */
  async trim(partition: number, maxLength: number): Promise<TrimResult> {
    const [unacknowledged, removed, read] = (await this.redis.eval(
      TRIM,
      1,
      streamKey(this.layout, partition),
      String(maxLength),
    )) as [number, number, number];
    return { unacknowledged, removed, read: read === 1 };
  }

  /** The last binlog position written to stream n for a source, if any. */
  async lastPosition(partition: number, source: string): Promise<string | undefined> {
    const saved = await this.redis.hget(streamRelayKey(this.layout, partition), `pos:${source}`);
    return saved ?? undefined;
  }
}

export type Durability = 'fsync' | 'aof' | 'none';

export interface DurabilityReport {
  /** What this Redis keeps of an acknowledged write. */
  keeps: Durability;
  /** Why it does not meet the wanted level; undefined when it does. */
  problem: string | undefined;
}

function infoField(info: string, name: string): string | undefined {
  const match = new RegExp(`^${name}:(.*)$`, 'm').exec(info);
  return match?.[1]?.trim();
}

/**
 * What the Redis promises about a write it answered: with the append-only file on and fsynced
 * before every reply (appendfsync always) it survives a crash of Redis or of the host; with
 * everysec, a crash of Redis (the file is in the OS) but not of the host (up to a second); without
 * the append-only file, nothing survives a restart.
 */
export async function checkDurability(redis: Redis | Cluster, wanted: Durability): Promise<DurabilityReport> {
  const reports = await Promise.all(mastersOf(redis).map((node) => nodeDurability(node, wanted)));
  const rank = { none: 0, aof: 1, fsync: 2 } as const;
  // A cluster keeps what its weakest master keeps.
  const weakest = reports.reduce<DurabilityReport | undefined>(
    (low, r) =>
      low === undefined || rank[r.keeps] < rank[low.keeps] || (r.problem && !low.problem) ? r : low,
    undefined,
  );
  return weakest ?? { keeps: 'none', problem: 'the Redis Cluster has no master' };
}

async function nodeDurability(redis: Redis, wanted: Durability): Promise<DurabilityReport> {
  const info = await redis.info('persistence');
  const aof = infoField(info, 'aof_enabled') === '1';
  let fsync: string | undefined;
  try {
    const reply = (await redis.config('GET', 'appendfsync')) as string[];
    fsync = reply[1];
  } catch {
    fsync = undefined;
  }
  const keeps: Durability = !aof ? 'none' : fsync === 'always' ? 'fsync' : 'aof';
  const rank = { none: 0, aof: 1, fsync: 2 } as const;
  if (rank[keeps] >= rank[wanted]) return { keeps, problem: undefined };
  const problem = !aof
    ? 'its append-only file is off (appendonly no), so a restart loses every stream entry not yet read'
    : fsync === undefined
      ? 'its appendfsync cannot be read (CONFIG GET denied), so an fsync before every reply cannot be verified'
      : `its append-only file is fsynced ${fsync === 'no' ? 'when the OS decides' : 'once a second'} (appendfsync ${fsync}), so a host crash can lose entries already acknowledged to Canal`;
  return { keeps, problem };
}

const MARK = `
${LAST_SEQ}for i = 1, tonumber(ARGV[1]) do
  seq = seq + 1
  redis.call('XADD', KEYS[1], string.format('%d-0', seq), 'm', ARGV[2], 'pos', '', 'ts', ARGV[3])
end
redis.call('HSET', KEYS[2], 'seq', string.format('%d', seq))
return string.format('%d', seq)
`;

/**
 * The ends of the streams for a re-sync's version (shared/resync/src/rule.ts), as Kafka's partition
 * ends are on that path: a stream's end is its last sequence + 1, the offset the relay gives the next
 * entry. The relay assigns sequences when it writes, in the order Canal serves the binlog, so a
 * change committed after the end was taken gets a larger one. `mark` appends entries every consumer
 * skips (a Canal QUERY message), with the relay's own sequence rule.
 */
export class StreamEnds {
  private readonly redis: Redis | Cluster;
  private readonly layout: StreamLayout;

  constructor(redis: Redis | Cluster, layout: StreamLayout) {
    this.redis = redis;
    this.layout = layout;
  }

  /** The stream keys of the layout are its "topics"; partition n of one is stream n. */
  topics(): string[] {
    return Array.from({ length: this.layout.partitions }, (_, n) => streamKey(this.layout, n));
  }

  private partitionOf(topic: string): number {
    const n = this.topics().indexOf(topic);
    if (n < 0) throw new Error(`${topic} is not a stream of ${this.layout.prefix}:${this.layout.cluster}`);
    return n;
  }

  async ends(topics: readonly string[]): Promise<Array<{ topic: string; partition: number; end: number }>> {
    const out: Array<{ topic: string; partition: number; end: number }> = [];
    for (const topic of topics) {
      const n = this.partitionOf(topic);
      const [saved, top] = await Promise.all([
        this.redis.hget(streamRelayKey(this.layout, n), 'seq'),
        this.redis.xrevrange(topic, '+', '-', 'COUNT', 1),
      ]);
      const last = Math.max(Number(saved ?? 0), Number(/^(\d+)-/.exec(top[0]?.[0] ?? '')?.[1] ?? 0));
      out.push({ topic, partition: n, end: last + 1 });
    }
    return out;
  }

  async mark(topic: string, partition: number, count = 1): Promise<void> {
    const n = this.partitionOf(topic);
    if (n !== partition) throw new Error(`${topic} is stream ${n}, not ${partition}`);
    const skipped = JSON.stringify({
      data: null,
      database: '',
      es: Date.now(),
      id: 0,
      isDdl: false,
      pkNames: null,
      sql: '/* sluice: re-sync mark, skipped by every consumer */',
      table: '',
      ts: Date.now(),
      type: 'QUERY',
    });
    await this.redis.eval(
      MARK,
      2,
      topic,
      streamRelayKey(this.layout, n),
      String(count),
      skipped,
      String(Date.now()),
    );
  }
}
