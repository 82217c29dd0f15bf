// A service's lifecycle: starting → running → draining → stopped (or failed). SIGTERM and SIGINT start
// a graceful drain bounded by a grace time; a second signal or the force timeout exits at once.
import type { Logger } from 'pino';

export type LifecycleState = 'starting' | 'running' | 'draining' | 'stopped' | 'failed';

export interface LifecycleOptions {
  logger: Logger;
  /** Longest a graceful stop may take before the process exits anyway (ms). */
  forceExitMs: number;
  /** For tests: do not call process.exit. */
  exit?: (code: number) => void;
}

type StopStep = { name: string; run: () => Promise<void> | void };

export class Lifecycle {
  state: LifecycleState = 'starting';
  private readonly options: LifecycleOptions;
  private readonly steps: StopStep[] = [];
  private stopping: Promise<void> | undefined;
  private readonly exit: (code: number) => void;

  constructor(options: LifecycleOptions) {
    this.options = options;
    this.exit = options.exit ?? ((code) => process.exit(code));
  }

  /** Registers what to do on stop; steps run in reverse order of registration (last started, first stopped). */
  onStop(name: string, run: () => Promise<void> | void): void {
    this.steps.unshift({ name, run });
  }

  running(): void {
    if (this.state === 'starting') this.state = 'running';
  }

  installSignalHandlers(): void {
    const handle = (signal: NodeJS.Signals) => {
      if (this.stopping) {
        this.options.logger.warn({ signal }, 'second signal during drain: exiting now');
        this.exit(130);
        return;
      }
      this.options.logger.info({ signal }, 'signal received: draining');
      void this.stop(0);
    };
    process.on('SIGTERM', handle);
    process.on('SIGINT', handle);
  }

  /** Drains and exits with the code (0 after a signal, 1 after a fatal error). */
  stop(code: number, reason?: unknown): Promise<void> {
    if (this.stopping) return this.stopping;
    if (reason !== undefined) this.options.logger.error({ err: reason }, 'fatal error: stopping');
    this.state = code === 0 ? 'draining' : 'failed';
    const force = setTimeout(() => {
      this.options.logger.error({ forceExitMs: this.options.forceExitMs }, 'drain took too long: exiting');
      this.exit(code === 0 ? 1 : code);
    }, this.options.forceExitMs);
    force.unref();
    this.stopping = (async () => {
      for (const step of this.steps) {
        const started = Date.now();
        try {
          await step.run();
          this.options.logger.debug({ step: step.name, ms: Date.now() - started }, 'stopped');
        } catch (error) {
          this.options.logger.warn({ step: step.name, err: error }, 'stop step failed');
        }
      }
      clearTimeout(force);
      if (code === 0) this.state = 'stopped';
      this.options.logger.info({ state: this.state }, 'stopped');
      this.options.logger.flush();
      this.exit(code);
    })();
    return this.stopping;
  }
}
