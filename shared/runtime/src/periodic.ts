// Background tasks on an interval, one helper for every service: a tick is skipped while the task's
// last run is still going (never two at once) or while the service is not active; a failure is logged
// with the task's name and the next tick tries again. Timers never keep the process alive.
import type { Logger } from './logger.ts';

export interface PeriodicOptions {
  logger: Logger;
  /** Ticks run only while this says so (e.g. the lifecycle is running); default: always. */
  active?: () => boolean;
}

export class Periodic {
  private readonly options: PeriodicOptions;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(options: PeriodicOptions) {
    this.options = options;
  }

  every(ms: number, task: string, run: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(async () => {
      if (busy || !(this.options.active?.() ?? true)) return;
      busy = true;
      try {
        await run();
      } catch (error) {
        this.options.logger.warn({ err: error, task }, 'background task failed');
      } finally {
        busy = false;
      }
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
  }
}
