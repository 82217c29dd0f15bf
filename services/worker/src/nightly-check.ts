// The nightly consistency check: one BullMQ Job Scheduler (cron pattern, UTC) in a queue of the
// cluster; every worker runs a BullMQ Worker on it, one job at a time, so each tick is taken by one
// worker only. The run is also keyed by the job's id in check_runs (unique): a job taken again after
// its worker died redoes that run, a tick is never stored twice.
import type { Logger } from '@sluice/runtime';
import { Queue, Worker } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

export const CHECK_SCHEDULER_ID = 'nightly-check';

/** The nightly check's queue; its keys share the hash tag in the name (one Redis Cluster slot). */
export function checkQueueName(cluster: string): string {
  return `check-{${cluster}}`;
}

export interface NightlyCheckOptions {
  prefix: string;
  cluster: string;
  /** Cron pattern (5 or 6 fields, UTC); undefined: the schedule is removed. */
  pattern: string | undefined;
  /** How long a worker may hold a check job between lock renewals (BullMQ renews it while it runs). */
  lockMs?: number;
  logger: Logger;
}

export class NightlyCheck {
  private readonly connection: Redis | Cluster;
  private readonly options: NightlyCheckOptions;
  private worker: Worker | undefined;

  constructor(connection: Redis | Cluster, options: NightlyCheckOptions) {
    this.connection = connection;
    this.options = options;
  }

  /** Creates, updates or (without a pattern) removes the schedule; idempotent. */
  async ensureSchedule(): Promise<void> {
    const queue = new Queue(checkQueueName(this.options.cluster), {
      connection: this.connection,
      prefix: this.options.prefix,
    });
    try {
      if (!this.options.pattern) {
        await queue.removeJobScheduler(CHECK_SCHEDULER_ID);
        return;
      }
      const existing = await queue.getJobScheduler(CHECK_SCHEDULER_ID);
      if (existing?.pattern === this.options.pattern) return;
      await queue.upsertJobScheduler(
        CHECK_SCHEDULER_ID,
        { pattern: this.options.pattern, tz: 'UTC' },
        {
          name: 'check',
          opts: { removeOnComplete: { count: 20 }, removeOnFail: { count: 20 }, attempts: 1 },
        },
      );
    } finally {
      await queue.close();
    }
  }

  /** Takes scheduled checks from now on; `run` gets the job's id (the run's key). */
  start(run: (scheduleKey: string) => Promise<void>): void {
    if (this.worker || !this.options.pattern) return;
    const log = this.options.logger.child({ task: 'nightly-check' });
    this.worker = new Worker(
      checkQueueName(this.options.cluster),
      async (job) => {
        log.info({ job: job.id }, 'nightly check starts');
        await run(String(job.id));
      },
      {
        connection: this.connection,
        prefix: this.options.prefix,
        concurrency: 1,
        lockDuration: this.options.lockMs ?? 60_000,
        maxStalledCount: 1,
      },
    );
    this.worker.on('failed', (job, error) => log.warn({ err: error, job: job?.id }, 'nightly check failed'));
    this.worker.on('error', (error) => log.warn({ err: error }, 'nightly check worker error'));
  }

  /**
   * Stops at once, without waiting for a check in progress (it may run for long): its job is then
   * stalled and another worker takes it again (the run, keyed by the job, is redone there).
   */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.close(true);
  }
}
