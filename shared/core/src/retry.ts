// One retry helper: exponential backoff with full jitter, an early bail for errors that retrying
// cannot fix, and a RetriesExceededError that keeps the last cause.
import { setTimeout as sleep } from 'node:timers/promises';
import { RetriesExceededError } from './errors.ts';

export interface RetryOptions {
  /** Attempts in all, including the first. Default 5. */
  attempts?: number;
  /** First delay in ms. Default 100. */
  baseDelayMs?: number;
  /** Largest delay in ms. Default 10 000. */
  maxDelayMs?: number;
  /** Return false to stop at once (the error is rethrown as is). Default: errors with retriable !== false. */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  signal?: AbortSignal;
  /** Called before each wait, e.g. to log. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Source of randomness in [0, 1), replaceable in tests. */
  random?: () => number;
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function defaultShouldRetry(error: unknown): boolean {
  return !(error instanceof Error && 'retriable' in error && error.retriable === false);
}

export async function retry<T>(
  what: string,
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 5;
  const base = options.baseDelayMs ?? 100;
  const max = options.maxDelayMs ?? 10_000;
  const shouldRetry = options.shouldRetry ?? defaultShouldRetry;
  const random = options.random ?? Math.random;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!shouldRetry(error, attempt)) throw error;
      lastError = error;
      if (attempt === attempts) break;
      const delay = backoffDelay(attempt, base, max, random);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
  throw new RetriesExceededError(what, attempts, lastError);
}
