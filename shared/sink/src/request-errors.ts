// Request-level outcomes of Elasticsearch calls — the companion of the item table in bulk-classify.ts.
// Every failed request reaches the rest of Sluice as an EsRequestError; its `retriable` decides:
//
//   no HTTP status (refused, reset, timed out)   retriable, and `unreachable`: the server is not there
//   429, 5xx                                     retriable
//   any other status                             not retriable (the request itself is wrong)
import { errorMessage, RetriesExceededError, SluiceError } from '@sluice/core';

export class EsRequestError extends SluiceError {
  /** The HTTP status; 0 when no response came. */
  readonly status: number;

  constructor(what: string, status: number, cause: unknown) {
    super(`Elasticsearch ${what}: ${errorMessage(cause)}`, {
      code: status === 0 ? 'es_unreachable' : `es_http_${status}`,
      retriable: status === 0 || status === 429 || status >= 500,
      cause,
    });
    this.status = status;
  }

  /** No response at all: Elasticsearch could not be reached (as opposed to answering with an error). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

/** The status a client error carries (`meta.statusCode` in both majors' clients), 0 when none. */
export function statusOfClientError(error: unknown): number {
  const status = (error as { meta?: { statusCode?: number | null } } | null)?.meta?.statusCode;
  return typeof status === 'number' ? status : 0;
}

/** Elasticsearch could not be reached: a request error without a response (or retries ending in one). */
export function isUnreachable(error: unknown): boolean {
  const last = error instanceof RetriesExceededError ? error.cause : error;
  return last instanceof EsRequestError && last.unreachable;
}
