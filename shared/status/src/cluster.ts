// The cluster's status as one document, for the status page (GET / of every service, `sluice ui`):
// the shard map with each shard's owner, holder, pending depth, oldest age and last flush; the
// members with their age and version; the epoch; ingest lag per partition; dead letters by reason;
// the last check report. Each part comes from its own source (ZooKeeper, Redis, the metadata MySQL)
// and a source that fails leaves its part empty with the reason, never the whole page.
import { errorMessage, redactText } from '@sluice/core';
import type { IngestPresence, WorkerPresence } from './presence.ts';

export interface MemberLike {
  id: string;
  host: string;
  version: string;
  startTime: number;
  httpPort?: number;
}

export interface ShardStatsLike {
  shard: number;
  pending: number;
  delayed: number;
  oldestBufferedAt: number | null;
}

export interface CheckRunLike {
  id: number;
  trigger: string;
  startedAt: number;
  finishedAt: number | null;
  tables: Array<{ table: string; rows: number; missing: number; stale: number; extra: number }>;
}

/** Where each part comes from; a part without a source is reported as not available here. */
export interface ClusterSources {
  cluster: string;
  shards: number;
  /** ZooKeeper's members, the leader first. */
  members?: () => Promise<MemberLike[]>;
  assignment?: () => Promise<{ epoch: number; owners: readonly string[] }>;
  stats?: () => Promise<ShardStatsLike[]>;
  workers?: () => Promise<WorkerPresence[]>;
  ingest?: () => Promise<IngestPresence[]>;
  deadLetters?: () => Promise<Map<string, number>>;
  lastCheck?: () => Promise<CheckRunLike | undefined>;
}

export interface ShardTile {
  shard: number;
  /** The assignment's owner (ZooKeeper); null when the shard is unowned. */
  owner: string | null;
  /** Workers that hold the shard's schedule now (their presence). */
  heldBy: string[];
  /** Handed over and not yet taken: the owner does not hold it alone. */
  moving: boolean;
  pending: number | null;
  retrying: number | null;
  oldestAgeSeconds: number | null;
  lastFlushAgeSeconds: number | null;
  lastFlushRecords: number | null;
  lastFlushFailed: boolean;
}

export interface ClusterStatus {
  cluster: string;
  generatedAt: number;
  shardCount: number;
  epoch: number | null;
  leader: string | null;
  members: Array<{
    id: string;
    host: string;
    version: string;
    ageSeconds: number;
    shards: number[];
    fenced: boolean;
  }>;
  shards: ShardTile[];
  ingest: Array<{
    id: string;
    host: string;
    version: string;
    ageSeconds: number;
    paused: boolean;
    partitions: Array<{ topic: string; partition: number; lag: number }>;
  }>;
  deadLetters: Array<{ reason: string; count: number }>;
  lastCheck: {
    id: number;
    trigger: string;
    finishedAt: number | null;
    tables: number;
    rows: number;
    differences: number;
  } | null;
  /** The parts that could not be read, and why (credentials hidden). */
  errors: Array<{ part: string; message: string }>;
}

const seconds = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);

export async function collectClusterStatus(
  sources: ClusterSources,
  now = Date.now(),
): Promise<ClusterStatus> {
  const errors: ClusterStatus['errors'] = [];
  const read = async <T>(part: string, source: (() => Promise<T>) | undefined): Promise<T | undefined> => {
    if (!source) return undefined;
    try {
      return await source();
    } catch (error) {
      errors.push({ part, message: redactText(errorMessage(error)) });
      return undefined;
    }
  };
  const [members, assignment, stats, workers, ingest, deadLetters, lastCheck] = await Promise.all([
    read('members', sources.members),
    read('assignment', sources.assignment),
    read('buffer', sources.stats),
    read('workers', sources.workers),
    read('ingest', sources.ingest),
    read('dead letters', sources.deadLetters),
    read('check reports', sources.lastCheck),
  ]);
  return buildClusterStatus(
    {
      cluster: sources.cluster,
      shards: sources.shards,
      members,
      assignment,
      stats,
      workers,
      ingest,
      deadLetters,
      lastCheck,
    },
    errors,
    now,
  );
}

export interface ClusterParts {
  cluster: string;
  shards: number;
  members?: MemberLike[] | undefined;
  assignment?: { epoch: number; owners: readonly string[] } | undefined;
  stats?: ShardStatsLike[] | undefined;
  workers?: WorkerPresence[] | undefined;
  ingest?: IngestPresence[] | undefined;
  deadLetters?: Map<string, number> | undefined;
  lastCheck?: CheckRunLike | undefined;
}

/** The document from its parts (pure). */
export function buildClusterStatus(
  parts: ClusterParts,
  errors: ClusterStatus['errors'] = [],
  now = Date.now(),
): ClusterStatus {
  const owners = parts.assignment?.owners ?? [];
  const workers = parts.workers ?? [];
  const stats = new Map((parts.stats ?? []).map((s) => [s.shard, s]));
  const shards: ShardTile[] = [];
  for (let shard = 0; shard < parts.shards; shard++) {
    const owner = owners[shard] || null;
    const heldBy = workers.filter((w) => w.owned.includes(shard)).map((w) => w.id);
    // The newest flush of the shard by any worker (the previous owner's, until the new one flushes).
    let last: { at: number; records: number; failed: boolean } | undefined;
    for (const w of workers) {
      const flush = w.lastFlush[String(shard)];
      if (flush && (!last || flush.at > last.at)) last = flush;
    }
    const s = stats.get(shard);
    shards.push({
      shard,
      owner,
      heldBy,
      moving: owner !== null && parts.workers !== undefined && !(heldBy.length === 1 && heldBy[0] === owner),
      pending: s ? s.pending : null,
      retrying: s ? s.delayed : null,
      oldestAgeSeconds: s?.oldestBufferedAt == null ? null : seconds(now - s.oldestBufferedAt),
      lastFlushAgeSeconds: last ? seconds(now - last.at) : null,
      lastFlushRecords: last ? last.records : null,
      lastFlushFailed: last?.failed ?? false,
    });
  }
  const fenced = new Set(workers.filter((w) => w.fenced).map((w) => w.id));
  const check = parts.lastCheck;
  return {
    cluster: parts.cluster,
    generatedAt: now,
    shardCount: parts.shards,
    epoch: parts.assignment?.epoch ?? null,
    leader: parts.members?.[0]?.id ?? null,
    members: (parts.members ?? []).map((m) => ({
      id: m.id,
      host: m.host,
      version: m.version,
      ageSeconds: seconds(now - m.startTime),
      shards: owners.flatMap((o, shard) => (o === m.id ? [shard] : [])),
      fenced: fenced.has(m.id),
    })),
    shards,
    ingest: (parts.ingest ?? []).map((i) => ({
      id: i.id,
      host: i.host,
      version: i.version,
      ageSeconds: seconds(now - i.startTime),
      paused: i.paused,
      partitions: [...i.partitions].sort(
        (a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition,
      ),
    })),
    deadLetters: [...(parts.deadLetters ?? new Map<string, number>())]
      .map(([reason, count]) => ({ reason, count }))
      .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
    lastCheck: check
      ? {
          id: check.id,
          trigger: check.trigger,
          finishedAt: check.finishedAt,
          tables: check.tables.length,
          rows: check.tables.reduce((n, t) => n + t.rows, 0),
          differences: check.tables.reduce((n, t) => n + t.missing + t.stale + t.extra, 0),
        }
      : null,
    errors,
  };
}
