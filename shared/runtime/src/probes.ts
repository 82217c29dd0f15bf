// Readiness from the dependencies: each is checked on an interval (or reported by a task that uses it
// anyway) and a failing one makes the service not ready, the reason naming the dependency, since when,
// and the error. A check that does not answer within its timeout fails.
import { errorMessage, redactText } from '@sluice/core';

interface Failure {
  since: number;
  message: string;
}

export class DependencyProbes {
  private readonly checks: ReadonlyMap<string, () => Promise<unknown>>;
  private readonly timeoutMs: number;
  private readonly failures = new Map<string, Failure>();
  private readonly now: () => number;

  /** `checks`: a check per dependency name; each resolves when the dependency answers. */
  constructor(
    checks: Record<string, () => Promise<unknown>>,
    options: { timeoutMs: number; now?: () => number },
  ) {
    this.checks = new Map(Object.entries(checks));
    this.timeoutMs = options.timeoutMs;
    this.now = options.now ?? Date.now;
  }

  /** Runs every check once, at the same time. */
  async runOnce(): Promise<void> {
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${this.timeoutMs} ms`)),
            this.timeoutMs,
          );
        });
        try {
          await Promise.race([check(), timeout]);
          this.report(name);
        } catch (error) {
          this.report(name, error);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  /** The outcome of a dependency's use by some task: an error marks it failing, none recovers it. */
  report(name: string, error?: unknown): void {
    if (error === undefined) {
      this.failures.delete(name);
      return;
    }
    const message = redactText(errorMessage(error));
    this.failures.set(name, { since: this.failures.get(name)?.since ?? this.now(), message });
  }

  /** One reason per failing dependency, in name order; none when all answer. */
  reasons(): string[] {
    return [...this.failures]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(
        ([name, f]) => `${name} unreachable for ${Math.round((this.now() - f.since) / 1000)} s: ${f.message}`,
      );
  }
}
