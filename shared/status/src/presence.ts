// What each running process says of itself, for the status page: one Redis hash per role
// (<prefix>:presence:worker, <prefix>:presence:ingest), a field per process holding a JSON document
// with the time it was written. Written every few seconds, removed on a clean stop; an entry older
// than its freshness bound is ignored (the process died without removing it), and a reader clears
// entries ten times older than that (long past any writer that could still rewrite them). Nothing here decides anything: ownership is ZooKeeper's, offsets Kafka's.

/** The hash commands used (ioredis has them). */
export interface PresenceStore {
  hset(key: string, field: string, value: string): Promise<unknown>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<unknown>;
}

export interface PresenceBase {
  id: string;
  host: string;
  version: string;
  startTime: number;
  /** When this entry was written (ms). */
  at: number;
}

export interface WorkerPresence extends PresenceBase {
  /** Shards this worker holds now (its flush schedules), which may lag the assignment in a handoff. */
  owned: number[];
  fenced: boolean;
  /** The last flush of each shard this worker has flushed: when it ended, records, whether it failed. */
  lastFlush: Record<string, { at: number; records: number; failed: boolean }>;
}

export interface IngestPresence extends PresenceBase {
  /** Messages behind the end of each partition this ingest holds. */
  partitions: Array<{ topic: string; partition: number; lag: number }>;
  paused: boolean;
}

export type PresenceRole = 'worker' | 'ingest';

export function presenceKey(prefix: string, role: PresenceRole): string {
  return `${prefix}:presence:${role}`;
}

export class Presence<T extends PresenceBase> {
  private readonly store: PresenceStore;
  private readonly key: string;
  private readonly maxAgeMs: number;

  /** maxAgeMs: an entry not rewritten for this long belongs to a process that is gone. */
  constructor(store: PresenceStore, key: string, maxAgeMs: number) {
    this.store = store;
    this.key = key;
    this.maxAgeMs = maxAgeMs;
  }

  async publish(entry: T): Promise<void> {
    await this.store.hset(this.key, entry.id, JSON.stringify(entry));
  }

  async remove(id: string): Promise<void> {
    await this.store.hdel(this.key, id);
  }

  /** The fresh entries, by id; long-dead or unreadable ones are removed. */
  async read(now = Date.now()): Promise<T[]> {
    const fields = await this.store.hgetall(this.key);
    const fresh: T[] = [];
    const dead: string[] = [];
    for (const [id, text] of Object.entries(fields)) {
      let entry: T | undefined;
      try {
        entry = JSON.parse(text) as T;
      } catch {
        entry = undefined;
      }
      const age = entry && typeof entry.at === 'number' ? now - entry.at : Number.POSITIVE_INFINITY;
      if (entry && age <= this.maxAgeMs) fresh.push(entry);
      else if (age > 10 * this.maxAgeMs) dead.push(id);
    }
    if (dead.length > 0) await this.store.hdel(this.key, ...dead);
    return fresh.sort((a, b) => a.id.localeCompare(b.id));
  }
}
