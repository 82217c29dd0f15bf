// Per-shard flush scheduling with BullMQ: one queue and one Job Scheduler per shard (`every` = the
// window), created once and never removed; a worker runs BullMQ Workers only for the queues of the
// shards it owns, opens one when it gains a shard and closes it when it loses one. (Queues of an
// earlier layout, "{<prefix>:<cluster>:bull}:flush-<cluster>-<ss>", are left alone: no job is made
// in them again, and nothing is lost with them — a flush job holds no data, only the time to flush.)

import { shardLabel } from '@sluice/core';
import type { Logger } from '@sluice/runtime';
import { Queue, Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

export interface SchedulerOptions {
  /** BullMQ key prefix (no braces: each queue's name has its hash tag). */
  prefix: string;
  cluster: string;
  windowMs: number;
  /** Longest a closing shard waits for its flush in flight before it is abandoned. */
  drainTimeoutMs: number;
  logger: Logger;
}

/** A flush of the shard; it must stop writing once `signal` is aborted (the shard was taken away). */
export type ShardJob = (shard: number, signal: AbortSignal) => Promise<void>;

/**
 * A shard's queue. BullMQ's scripts touch several keys of a queue, so its keys share a hash tag:
 * the braces in the name put each shard's queue in a Redis Cluster slot of its own, and the shards'
 * queues spread over the masters.
 */
export function queueName(cluster: string, shard: number): string {
  return `flush-{${cluster}-${shardLabel(shard)}}`;
}

export const SCHEDULER_ID = 'flush';

export class FlushScheduler {
  private readonly connection: Redis | Cluster;
  private readonly options: SchedulerOptions;
  private readonly workers = new Map<number, Worker>();
  private readonly aborts = new Map<number, AbortController>();

  constructor(connection: Redis | Cluster, options: SchedulerOptions) {
    this.connection = connection;
    this.options = options;
  }

  private queue(shard: number): Queue {
    return new Queue(queueName(this.options.cluster, shard), {
      connection: this.connection,
      prefix: this.options.prefix,
    });
  }

  /** Creates (or updates) the Job Scheduler of each shard; idempotent. */
  async ensureSchedulers(shards: Iterable<number>): Promise<void> {
    for (const shard of shards) {
      const queue = this.queue(shard);
      try {
        const existing = await queue.getJobScheduler(SCHEDULER_ID);
        if (existing?.every === this.options.windowMs) continue;
        await queue.upsertJobScheduler(
          SCHEDULER_ID,
          { every: this.options.windowMs },
          {
            name: 'flush',
            data: { shard },
            opts: { removeOnComplete: true, removeOnFail: { count: 50 } },
          },
        );
      } finally {
        await queue.close();
      }
    }
  }

  owned(): number[] {
    return [...this.workers.keys()].sort((a, b) => a - b);
  }

  /** Starts processing the shard's flush jobs (one at a time). */
  own(shard: number, job: ShardJob): void {
    if (this.workers.has(shard)) return;
    const log = this.options.logger.child({ shard });
    const abort = new AbortController();
    this.aborts.set(shard, abort);
    const worker = new Worker(
      queueName(this.options.cluster, shard),
      async () => {
        if (!abort.signal.aborted) await job(shard, abort.signal);
      },
      {
        connection: this.connection,
        prefix: this.options.prefix,
        concurrency: 1,
        lockDuration: Math.max(30_000, this.options.windowMs * 4),
        stalledInterval: 30_000,
        maxStalledCount: 1,
        drainDelay: 5,
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 50 },
      },
    );
    worker.on('failed', (j, error) => log.warn({ err: error, job: j?.id }, 'flush job failed'));
    worker.on('error', (error) => log.warn({ err: error }, 'flush worker error'));
    this.workers.set(shard, worker);
  }

  /** Stops taking the shard's jobs; the flush in flight may finish within the drain bound. */
  async release(shard: number): Promise<void> {
    const worker = this.workers.get(shard);
    const abort = this.aborts.get(shard);
    if (!worker || !abort) return;
    this.workers.delete(shard);
    this.aborts.delete(shard);
    const closed = worker.close();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.drainTimeoutMs);
    });
    const outcome = await Promise.race([closed.then(() => 'closed' as const), timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.options.logger.warn({ shard }, 'flush did not finish within the drain bound: abandoning it');
      abort.abort(new Error(`shard ${shard} released`));
      await worker.close(true);
    } else {
      abort.abort(new Error(`shard ${shard} released`));
    }
  }

  async releaseAll(): Promise<void> {
    await Promise.all(this.owned().map((shard) => this.release(shard)));
  }

  /**
   * Self-fencing: every flush in flight is told to stop at once (no drain), and no job is taken
   * any more. Used when this process can no longer prove it owns its shards.
   */
  async fenceAll(reason: string): Promise<void> {
    const workers = [...this.workers];
    for (const abort of this.aborts.values()) abort.abort(new Error(reason));
    this.workers.clear();
    this.aborts.clear();
    await Promise.all(workers.map(([, worker]) => worker.close(true).catch(() => undefined)));
  }

  /** Runs a flush of an owned shard now, outside the schedule (e.g. right after gaining it). */
  flushNow(shard: number, job: ShardJob): Promise<void> {
    const abort = this.aborts.get(shard);
    if (!abort || abort.signal.aborted) return Promise.resolve();
    return job(shard, abort.signal);
  }
}
