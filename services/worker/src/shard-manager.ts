// Follows ownership: opens the flush schedule of every shard this worker owns and closes the ones it
// lost (the flush in flight may finish within the drain bound). A shard gained is first recovered
// from the backup and flushed at once. When ownership can no longer be proven (a stale ZooKeeper
// session), every flush stops at once — self-fencing — until the session is fresh again.
import { EventEmitter } from 'node:events';
import { shardLabel } from '@sluice/core';
import type { Recovery } from '@sluice/pipeline';
import { type FlushMetrics, forgetShard, type Logger } from '@sluice/runtime';
import type { FlushScheduler, ShardJob } from './scheduler.ts';

/** Who owns what: the ZooKeeper coordinator, or a fixed list (SLUICE_STATIC_SHARDS). */
export interface Ownership extends EventEmitter {
  owned(): number[];
  /** Throws a FencedError when this worker may not write the shard now. */
  verify(shard: number): Promise<void>;
  /** False while this worker cannot prove it is still a member (self-fencing). */
  isFresh(): boolean;
}

export class StaticOwnership extends EventEmitter implements Ownership {
  private readonly shards: number[];

  constructor(shards: number[]) {
    super();
    this.shards = shards;
  }

  owned(): number[] {
    return this.shards;
  }

  async verify(): Promise<void> {}

  isFresh(): boolean {
    return true;
  }
}

export interface ShardManagerDeps {
  ownership: Ownership;
  scheduler: FlushScheduler;
  recovery: Recovery;
  job: ShardJob;
  metrics: FlushMetrics;
  logger: Logger;
}

export class ShardManager {
  private readonly deps: ShardManagerDeps;
  private readonly running = new Set<number>();
  private fenced = false;
  private stopped = false;
  private syncing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(deps: ShardManagerDeps) {
    this.deps = deps;
  }

  start(fenceCheckMs = 250): Promise<void> {
    const { ownership } = this.deps;
    ownership.on('assignment', () => void this.sync());
    ownership.on('rejoined', () => void this.sync());
    this.timer = setInterval(() => this.checkFence(), fenceCheckMs);
    this.timer.unref();
    return this.sync();
  }

  owned(): number[] {
    return [...this.running].sort((a, b) => a - b);
  }

  isFenced(): boolean {
    return this.fenced;
  }

  private checkFence(): void {
    const fresh = this.deps.ownership.isFresh();
    if (!fresh && !this.fenced && !this.stopped) {
      this.fenced = true;
      this.deps.logger.warn(
        { shards: this.owned() },
        'cannot prove membership any more: stopping every flush (self-fencing)',
      );
      this.syncing = this.syncing.then(async () => {
        await this.deps.scheduler.fenceAll('self-fenced');
        for (const shard of this.running) forgetShard(this.deps.metrics, shardLabel(shard));
        this.running.clear();
      });
    } else if (fresh && this.fenced && !this.stopped) {
      this.fenced = false;
      this.deps.logger.info('membership proven again: resuming');
      void this.sync();
    }
  }

  /** Brings the running schedules in line with ownership (calls are serialised). */
  sync(): Promise<void> {
    this.syncing = this.syncing
      .then(() => this.apply())
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'applying the assignment failed; retrying');
        setTimeout(() => void this.sync(), 1000).unref();
      });
    return this.syncing;
  }

  private async apply(): Promise<void> {
    if (this.stopped) return;
    const { scheduler, recovery, job, metrics, logger } = this.deps;
    const target = new Set(this.fenced ? [] : this.deps.ownership.owned());
    const lost = [...this.running].filter((s) => !target.has(s));
    const gained = [...target].filter((s) => !this.running.has(s)).sort((a, b) => a - b);
    if (lost.length === 0 && gained.length === 0) return;
    logger.info({ lost, gained }, 'applying a new assignment');
    await Promise.all(
      lost.map(async (shard) => {
        await scheduler.release(shard);
        this.running.delete(shard);
        forgetShard(metrics, shardLabel(shard));
      }),
    );
    for (const shard of gained) {
      try {
        const recovered = await recovery.recoverShard(shard);
        if (recovered.rebuffered) metrics.recovered.inc(recovered.rebuffered);
      } catch (error) {
        logger.warn(
          { err: error, shard },
          'recovery of a gained shard failed; the periodic sweep will retry',
        );
      }
      scheduler.own(shard, job);
      this.running.add(shard);
      metrics.owned.set({ shard: shardLabel(shard) }, 1);
      void scheduler
        .flushNow(shard, job)
        .catch((error: unknown) => logger.warn({ err: error, shard }, 'first flush failed'));
    }
    metrics.rebalances.inc();
  }

  /** Stops taking jobs; flushes in flight finish within the drain bound. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.syncing;
    await this.deps.scheduler.releaseAll();
    this.running.clear();
  }
}
