// One error hierarchy for Sluice. Every error says whether retrying can help (`retriable`) and keeps
// the error that caused it (`cause`). Which outside codes are retriable is decided in one place per
// system (see sink/bulk-classify.ts for Elasticsearch item statuses, sink/request-errors.ts for requests).

export interface SluiceErrorOptions {
  code: string;
  retriable?: boolean;
  cause?: unknown;
}

export class SluiceError extends Error {
  readonly code: string;
  readonly retriable: boolean;

  constructor(message: string, options: SluiceErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.retriable = options.retriable ?? false;
  }
}

/** A setting is missing or invalid: the process stops at start with this message. */
export class ConfigError extends SluiceError {
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(`invalid setting ${setting}: ${message}`, { code: 'config' });
    this.setting = setting;
  }
}

/** Replaces the password of every "scheme://user:password@" in a text with ***. */
export function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^:/@\s]*):([^@/\s]+)@/gi, '$1$2:***@');
}

/** A dependency (Kafka, Redis, MySQL, Elasticsearch, ZooKeeper) cannot be reached. */
export class DependencyError extends SluiceError {
  readonly dependency: string;
  readonly address: string;

  /** `problem`: what is wrong with it; default: it cannot be reached. */
  constructor(dependency: string, address: string, cause: unknown, problem = 'is unreachable') {
    const reason = redactText(cause instanceof Error ? cause.message : String(cause));
    super(`${dependency} at ${address} ${problem}: ${reason}`, {
      code: 'dependency_unavailable',
      retriable: true,
      cause,
    });
    this.dependency = dependency;
    this.address = address;
  }
}

/** A retried operation gave up; `cause` is the last failure. */
export class RetriesExceededError extends SluiceError {
  readonly attempts: number;

  constructor(what: string, attempts: number, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${what} failed after ${attempts} attempts: ${reason}`, { code: 'retries_exceeded', cause });
    this.attempts = attempts;
  }
}

/**
 * Lost the right to act (lock lost, assignment epoch moved on, ZooKeeper session gone). Retrying the
 * operation cannot help: the work stops and waits to be given back (a later flush, a new owner).
 */
export class FencedError extends SluiceError {
  constructor(message: string) {
    super(message, { code: 'fenced', retriable: false });
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
