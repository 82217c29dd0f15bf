// The job each shard's schedule runs: one flush of the shard under its lock, writing only while the
// shard is still this worker's (ZooKeeper, read before every write) and the schedule was not closed.
// A flush that loses either stops where it is (FencedError): what it did not settle stays buffered.
import { FencedError } from '@sluice/core';
import type { Logger } from '@sluice/runtime';
import type { FlushGuard, FlushSummary } from './flush-runner.ts';
import type { LockOutcome } from './locks.ts';
import type { Ownership } from './shard-manager.ts';

export interface ShardFlusher {
  flushShard(shard: number, guard: FlushGuard): Promise<FlushSummary>;
}

export interface ShardLocking {
  withLock<T>(
    shard: number,
    work: (guard: FlushGuard) => Promise<T>,
    extra?: FlushGuard,
  ): Promise<LockOutcome<T>>;
}

export interface FlushJobDeps {
  runner: ShardFlusher;
  locks: ShardLocking;
  /** Known once the worker has joined (the HTTP port it serves goes into its member record first). */
  ownership: () => Pick<Ownership, 'verify'>;
  logger: Logger;
}

export class FlushJob {
  private readonly deps: FlushJobDeps;
  private readonly inFlight = new Set<number>();
  private readonly last = new Map<number, { at: number; records: number; failed: boolean }>();

  constructor(deps: FlushJobDeps) {
    this.deps = deps;
  }

  /** The ShardJob given to the scheduler. */
  readonly run = async (shard: number, signal: AbortSignal): Promise<void> => {
    const { runner, locks, logger } = this.deps;
    this.inFlight.add(shard);
    try {
      const outcome = await locks.withLock(shard, (guard) => runner.flushShard(shard, guard), {
        check: async () => {
          if (signal.aborted) throw new FencedError(`shard ${shard} is no longer owned here`);
          await this.deps.ownership().verify(shard);
        },
      });
      if (!outcome.acquired) logger.debug({ shard }, 'shard lock busy: another worker is flushing it');
      else
        this.last.set(shard, {
          at: Date.now(),
          records: outcome.value.records,
          failed: outcome.value.failed,
        });
    } catch (error) {
      if (!(error instanceof FencedError)) throw error;
      logger.warn({ shard, reason: error.message }, 'flush stopped: fenced');
    } finally {
      this.inFlight.delete(shard);
    }
  };

  /** The last flush this worker finished of each shard (for the status page). */
  lastFlushes(): Record<string, { at: number; records: number; failed: boolean }> {
    return Object.fromEntries([...this.last].map(([shard, flush]) => [String(shard), flush]));
  }

  /** Shards being flushed right now, in order. */
  flushing(): number[] {
    return [...this.inFlight].sort((x, y) => x - y);
  }
}
