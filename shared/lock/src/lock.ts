// Distributed locks for Sluice and for applications (design document 000 §4, without its flaw):
//
//   await locks.withLock('orders:42', async (lease) => { … }, { waitMs: 10_000, leaseMs: 30_000 });
//
// - waits up to waitMs for the lock (LockTimeoutError after), retrying with jitter;
// - extends the lease at a third of its time while fn runs;
// - lease.signal fires (and lease.check() throws LockLostError) as soon as the lease is lost: an
//   extension refused, or its time over by this process's own clock (a process frozen past its
//   lease learns it the moment it runs again, before it asks Redis anything);
// - lease.token is a fencing token: a number that grows with every acquisition of the key (INCR of
//   `<key>:fence` under the lock), so a holder that lost its lease has a smaller token than the one
//   that took it next. A lock alone cannot stop a paused process from writing late; the callee must
//   pass the token to the store it writes to, and the store refuse a token smaller than one it saw
//   (Sluice's own writes are fenced by Elasticsearch external versions the same way).
//
// Built on Redlock (@sesamecare-oss/redlock): one Redis, or several independent ones for a quorum;
// the token comes from the first. Tokens grow as long as that Redis keeps the counter (a Redis that
// loses its data starts them again: give it persistence where tokens matter).
import { ExecutionError, type Lock, Redlock, ResourceLockedError } from '@sesamecare-oss/redlock';
import { FencedError } from '@sluice/core';
import type { Cluster, Redis } from 'ioredis';

export class LockTimeoutError extends Error {
  readonly key: string;
  readonly waitedMs: number;

  constructor(key: string, waitedMs: number, cause?: unknown) {
    super(`lock ${key} not acquired within ${waitedMs} ms${cause ? `: ${(cause as Error).message}` : ''}`, {
      cause,
    });
    this.name = 'LockTimeoutError';
    this.key = key;
    this.waitedMs = waitedMs;
  }
}

/** The lease ended while its holder still worked (a FencedError: stop writing). */
export class LockLostError extends FencedError {
  readonly key: string;
  readonly token: number;

  constructor(key: string, token: number, why: string) {
    super(`lock ${key} (token ${token}) lost: ${why}`);
    this.name = 'LockLostError';
    this.key = key;
    this.token = token;
  }
}

export interface Lease {
  key: string;
  /** Grows with every acquisition of the key: pass it to the store the work writes to. */
  token: number;
  /** Fires when the lease is lost; its reason is a LockLostError. */
  signal: AbortSignal;
  /** Throws the LockLostError once the lease is lost. */
  check(): void;
  /** When the lease ends unless extended (ms since the epoch, this process's clock). */
  expiresAt(): number;
}

export interface LockOptions {
  /** How long to wait for the lock (0: one attempt). Default 10 s. */
  waitMs?: number;
  /** The lease, extended while the work runs. Default 30 s. */
  leaseMs?: number;
}

export interface LockServiceOptions {
  /** Pause between attempts while the lock is held elsewhere (jittered ±50 %). Default 100 ms. */
  retryDelayMs?: number;
  /** Redlock's clock drift factor: the share of the lease kept off its end (plus 2 ms, and 20 ms more here). Default 0.01. */
  driftFactor?: number;
}

export type TryOutcome<T> = { acquired: true; value: T } | { acquired: false };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Busy = every vote against the lock says "already locked" (not a connection failure). */
async function isBusy(error: unknown): Promise<boolean> {
  if (error instanceof ResourceLockedError) return true;
  if (!(error instanceof ExecutionError)) return false;
  const stats = await Promise.all(error.attempts);
  const against = stats.flatMap((s) => [...s.votesAgainst.values()]);
  return against.length > 0 && against.every((e) => e instanceof ResourceLockedError);
}

export class LockService {
  private readonly redlock: Redlock;
  private readonly tokens: Redis | Cluster;
  private readonly retryDelayMs: number;

  constructor(clients: Redis | Cluster | ReadonlyArray<Redis | Cluster>, options: LockServiceOptions = {}) {
    const list = Array.isArray(clients) ? [...clients] : [clients as Redis];
    if (list.length === 0) throw new Error('LockService needs at least one Redis');
    this.redlock = new Redlock(list, { retryCount: 0, driftFactor: options.driftFactor ?? 0.01 });
    this.redlock.on('error', () => undefined);
    this.tokens = list[0] as Redis;
    this.retryDelayMs = options.retryDelayMs ?? 100;
  }

  /** Runs fn holding the lock; waits for it up to waitMs (then LockTimeoutError). */
  async withLock<T>(key: string, fn: (lease: Lease) => Promise<T>, options: LockOptions = {}): Promise<T> {
    const waitMs = options.waitMs ?? 10_000;
    const leaseMs = options.leaseMs ?? 30_000;
    const started = Date.now();
    let lastError: unknown;
    for (;;) {
      let lock: Lock | undefined;
      try {
        lock = await this.redlock.acquire([key], leaseMs);
      } catch (error) {
        // held elsewhere: wait; Redis unreachable: keep trying until the wait is over
        if (!(await isBusy(error).catch(() => false))) {
          if (!(error instanceof ExecutionError)) throw error;
          lastError = error;
        }
      }
      if (lock) return await this.hold(key, lock, leaseMs, fn);
      const waited = Date.now() - started;
      if (waited >= waitMs) throw new LockTimeoutError(key, waited, lastError);
      const delay = Math.min(this.retryDelayMs * (0.5 + Math.random()), waitMs - waited);
      await sleep(Math.max(1, delay));
    }
  }

  /** One attempt: runs fn if the lock is free now, else says it was not acquired. */
  async tryWithLock<T>(
    key: string,
    fn: (lease: Lease) => Promise<T>,
    leaseMs: number,
  ): Promise<TryOutcome<T>> {
    let lock: Lock;
    try {
      lock = await this.redlock.acquire([key], leaseMs);
    } catch (error) {
      if (await isBusy(error)) return { acquired: false };
      throw error;
    }
    return { acquired: true, value: await this.hold(key, lock, leaseMs, fn) };
  }

  private async hold<T>(
    key: string,
    acquired: Lock,
    leaseMs: number,
    fn: (lease: Lease) => Promise<T>,
  ): Promise<T> {
    let lock = acquired;
    const controller = new AbortController();
    // Redlock's expiration counts from before the request that took the lock, less its drift; a
    // little more is kept off for the timer's own lateness.
    let expiresAt = lock.expiration - 20;
    let token = 0;
    let watchdog: NodeJS.Timeout | undefined;
    let extender: NodeJS.Timeout | undefined;
    const lose = (why: string) => {
      if (controller.signal.aborted) return;
      clearTimeout(watchdog);
      clearTimeout(extender);
      controller.abort(new LockLostError(key, token, why));
    };
    // By this process's own clock: fires late if the process was frozen, and then before anything else.
    const arm = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(
        () => {
          if (Date.now() >= expiresAt) lose('the lease ran out before it could be extended');
          else arm();
        },
        Math.max(0, expiresAt - Date.now()),
      );
    };
    const extend = () => {
      extender = setTimeout(
        async () => {
          if (controller.signal.aborted) return;
          if (Date.now() >= expiresAt) {
            lose('the lease ran out before it could be extended');
            return;
          }
          try {
            lock = await lock.extend(leaseMs);
            if (controller.signal.aborted) return;
            expiresAt = lock.expiration - 20;
            arm();
            extend();
          } catch (error) {
            lose(`the extension was refused (${(error as Error).message})`);
          }
        },
        Math.floor(leaseMs / 3),
      );
    };
    const lease: Lease = {
      key,
      get token() {
        return token;
      },
      signal: controller.signal,
      check() {
        if (!controller.signal.aborted && Date.now() >= expiresAt) lose('the lease ran out');
        if (controller.signal.aborted) throw controller.signal.reason;
      },
      expiresAt: () => expiresAt,
    };
    try {
      token = Number(await this.tokens.incr(`${key}:fence`));
      arm();
      extend();
      return await fn(lease);
    } finally {
      clearTimeout(watchdog);
      clearTimeout(extender);
      if (!controller.signal.aborted) await lock.release().catch(() => undefined);
    }
  }
}
