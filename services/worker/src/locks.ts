// The shard lock: a Redlock per shard around every flush. It keeps two workers from flushing the same
// shard during a handoff; it is not a fence by itself (a paused process can outlive its lock), so a
// flush also checks its assignment before each write and Elasticsearch's external versions refuse
// anything older than what it holds.
import { ExecutionError, type Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import { FencedError } from '@sluice/core';
import type { Redis } from 'ioredis';
import type { FlushGuard } from './flush-runner.ts';

export type LockOutcome<T> = { acquired: true; value: T } | { acquired: false };

export class ShardLocks {
  private readonly redlock: Redlock;
  private readonly keyOf: (shard: number) => string;
  private readonly ttlMs: number;
  private readonly held = new Map<number, Lock>();

  constructor(redis: Redis, keyOf: (shard: number) => string, ttlMs: number) {
    this.redlock = new Redlock([redis], {
      retryCount: 0,
      automaticExtensionThreshold: Math.min(5000, Math.floor(ttlMs / 3)),
    });
    this.redlock.on('error', () => undefined);
    this.keyOf = keyOf;
    this.ttlMs = ttlMs;
  }

  /**
   * Runs `work` holding the shard's lock (auto-extended). When the lock is held elsewhere the work
   * does not run. The guard given to `work` throws a FencedError once the lock is lost or `extra`
   * says stop.
   */
  async withLock<T>(
    shard: number,
    work: (guard: FlushGuard) => Promise<T>,
    extra?: FlushGuard,
  ): Promise<LockOutcome<T>> {
    try {
      const value = await this.redlock.using([this.keyOf(shard)], this.ttlMs, async (signal, context) => {
        this.held.set(shard, context.lock);
        try {
          return await work({
            check: async () => {
              if (signal.aborted) {
                throw new FencedError(`lock of shard ${shard} lost: ${signal.error?.message ?? 'expired'}`);
              }
              await extra?.check();
              // The extra check may have waited on the network: look at the lock again.
              if (signal.aborted) throw new FencedError(`lock of shard ${shard} lost`);
            },
          });
        } finally {
          this.held.delete(shard);
        }
      });
      return { acquired: true, value };
    } catch (error) {
      if (await isLockBusy(error)) return { acquired: false };
      throw error;
    }
  }

  /** Whether this process holds the shard's lock right now. */
  holds(shard: number): boolean {
    return this.held.has(shard);
  }
}

/** Busy = every vote against the lock says "already locked" (not a connection failure). */
async function isLockBusy(error: unknown): Promise<boolean> {
  if (error instanceof ResourceLockedError) return true;
  if (!(error instanceof ExecutionError)) return false;
  const stats = await Promise.all(error.attempts);
  const against = stats.flatMap((s) => [...s.votesAgainst.values()]);
  return against.length > 0 && against.every((e) => e instanceof ResourceLockedError);
}
