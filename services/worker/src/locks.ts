// The shard lock: one lock per shard around every flush (shared/lock, on Redlock: the one lock
// implementation of the repository). It keeps two workers from flushing the same shard during a
// handoff; it is not a fence by itself (a paused process can outlive its lock), so a flush also checks
// its assignment before each write and Elasticsearch's external versions refuse anything older than
// what it holds.
import { type Lease, LockService, type TryOutcome } from '@sluice/lock';
import type { Cluster, Redis } from 'ioredis';
import type { FlushGuard } from './flush-runner.ts';

export type LockOutcome<T> = TryOutcome<T>;

export class ShardLocks {
  private readonly locks: LockService;
  private readonly keyOf: (shard: number) => string;
  private readonly ttlMs: number;
  private readonly held = new Map<number, Lease>();

  constructor(redis: Redis | Cluster, keyOf: (shard: number) => string, ttlMs: number) {
    this.locks = new LockService(redis);
    this.keyOf = keyOf;
    this.ttlMs = ttlMs;
  }

  /**
   * Runs `work` holding the shard's lock (extended while it runs). When the lock is held elsewhere
   * the work does not run. The guard given to `work` throws a FencedError (LockLostError) once the
   * lease is lost, or whatever `extra` throws.
   */
  async withLock<T>(
    shard: number,
    work: (guard: FlushGuard) => Promise<T>,
    extra?: FlushGuard,
  ): Promise<LockOutcome<T>> {
    return this.locks.tryWithLock(
      this.keyOf(shard),
      async (lease) => {
        this.held.set(shard, lease);
        try {
          return await work({
            check: async () => {
              lease.check();
              await extra?.check();
              // The extra check may have waited on the network: look at the lease again.
              lease.check();
            },
          });
        } finally {
          this.held.delete(shard);
        }
      },
      this.ttlMs,
    );
  }

  /** Whether this process holds the shard's lock right now. */
  holds(shard: number): boolean {
    return this.held.has(shard);
  }
}
