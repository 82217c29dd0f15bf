// The Elasticsearch connection. Sluice supports servers of major 8 and 9, each through the
// @elastic/elasticsearch client of the same major (the 9.x client sends `compatible-with=9`, which an
// 8.x server refuses). Everything Sluice sends goes through one narrow `request` function, so the rest
// of the code does not depend on either client's typings; its failures are EsRequestErrors
// (request-errors.ts), never the client's own error classes. The client is loaded when the server's
// major is known.
import { DependencyError } from '@sluice/core';
import { EsRequestError, statusOfClientError } from './request-errors.ts';

export interface EsAuth {
  apiKey?: string;
  username?: string;
  password?: string;
}

export interface EsOptions {
  url: string;
  major: 'auto' | '8' | '9';
  auth?: EsAuth;
  /** PEM text of a CA certificate for https. */
  caCert?: string;
  requestTimeoutMs: number;
  maxRetries?: number;
}

export interface EsRequest {
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'HEAD';
  path: string;
  body?: unknown;
  /** NDJSON text (bulk). */
  bulkBody?: string;
  querystring?: Record<string, string | number | boolean>;
}

export interface EsResponse<T> {
  statusCode: number;
  body: T;
}

/** The narrow interface the rest of Sluice uses. */
export interface EsApi {
  readonly major: 8 | 9;
  readonly serverVersion: string;
  request<T = unknown>(
    req: EsRequest,
    options?: { ignore?: number[]; signal?: AbortSignal },
  ): Promise<EsResponse<T>>;
  close(): Promise<void>;
}

/** Elasticsearch at a URL, without credentials (for messages). */
export function describeEsTarget(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

function authHeader(auth: EsAuth | undefined): Record<string, string> {
  if (auth?.apiKey) return { authorization: `ApiKey ${auth.apiKey}` };
  if (auth?.username) {
    return {
      authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password ?? ''}`).toString('base64')}`,
    };
  }
  return {};
}

/**
 * Asks the server for its version with plain requests (no client major involved): GET / first, then
 * the local node's info, since some distributions (the integ-test-zip) have no root endpoint.
 */
export async function serverVersion(options: EsOptions): Promise<string> {
  const target = describeEsTarget(options.url);
  const get = async (path: string): Promise<{ status: number; body: unknown }> => {
    let response: Response;
    try {
      response = await fetch(new URL(path, options.url), {
        headers: { accept: 'application/json', ...authHeader(options.auth) },
        signal: AbortSignal.timeout(options.requestTimeoutMs),
      });
    } catch (error) {
      throw new DependencyError('Elasticsearch', target, (error as Error).cause ?? error);
    }
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: undefined };
    }
  };
  const root = await get('/');
  const fromRoot = (root.body as { version?: { number?: string } } | undefined)?.version?.number;
  if (root.status === 200 && fromRoot) return fromRoot;
  if (root.status === 401 || root.status === 403) {
    throw new DependencyError(
      'Elasticsearch',
      target,
      new Error(`HTTP ${root.status}: check the credentials`),
    );
  }
  const nodes = await get('/_nodes/_local?filter_path=nodes.*.version');
  const found = Object.values(
    (nodes.body as { nodes?: Record<string, { version?: string }> } | undefined)?.nodes ?? {},
  )[0]?.version;
  if (nodes.status !== 200 || !found) {
    throw new DependencyError(
      'Elasticsearch',
      target,
      new Error(`cannot read the server version (HTTP ${nodes.status})`),
    );
  }
  return found;
}

/** Credentials written in the URL become the auth of the connection; the URL loses them. */
export function splitCredentials(options: EsOptions): EsOptions {
  const parsed = new URL(options.url);
  if (!parsed.username && !parsed.password) return options;
  const auth = options.auth ?? {
    username: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
  parsed.username = '';
  parsed.password = '';
  return { ...options, url: parsed.toString().replace(/\/$/, ''), auth };
}

export async function openElastic(given: EsOptions): Promise<EsApi> {
  const options = splitCredentials(given);
  const version = await serverVersion(options);
  const serverMajor = Number(version.split('.')[0]);
  const major = options.major === 'auto' ? serverMajor : Number(options.major);
  if (major !== 8 && major !== 9) {
    throw new DependencyError(
      'Elasticsearch',
      describeEsTarget(options.url),
      new Error(`unsupported version ${version} (8.x or 9.x)`),
    );
  }
  if (major !== serverMajor) {
    throw new DependencyError(
      'Elasticsearch',
      describeEsTarget(options.url),
      new Error(`SLUICE_ES_MAJOR=${options.major} but the server runs ${version}`),
    );
  }
  const clientOptions = {
    node: options.url,
    requestTimeout: options.requestTimeoutMs,
    maxRetries: options.maxRetries ?? 0,
    ...(options.auth?.apiKey ? { auth: { apiKey: options.auth.apiKey } } : {}),
    ...(options.auth?.username
      ? { auth: { username: options.auth.username, password: options.auth.password ?? '' } }
      : {}),
    ...(options.caCert ? { tls: { ca: options.caCert } } : {}),
  };
  // Only the server's major's client is loaded (each is tens of MiB once loaded).
  const client =
    major === 9
      ? new (await import('@elastic/elasticsearch')).Client(clientOptions)
      : new (await import('es8')).Client(clientOptions);
  // Both majors' transports share this call shape; typing it once keeps the two clients apart.
  const transport = client.transport as unknown as {
    request(
      params: {
        method: string;
        path: string;
        body?: unknown;
        bulkBody?: string;
        querystring?: Record<string, unknown>;
      },
      options: { meta: true; ignore?: number[]; signal?: AbortSignal },
    ): Promise<{ statusCode: number | null; body: unknown }>;
  };
  return {
    major,
    serverVersion: version,
    async request<T>(
      req: EsRequest,
      opts: { ignore?: number[]; signal?: AbortSignal } = {},
    ): Promise<EsResponse<T>> {
      const params: {
        method: string;
        path: string;
        body?: unknown;
        bulkBody?: string;
        querystring?: Record<string, unknown>;
      } = { method: req.method, path: req.path };
      if (req.body !== undefined) params.body = req.body;
      if (req.bulkBody !== undefined) params.bulkBody = req.bulkBody;
      if (req.querystring !== undefined) params.querystring = req.querystring;
      try {
        const response = await transport.request(params, {
          meta: true,
          ...(opts.ignore ? { ignore: opts.ignore } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        return { statusCode: response.statusCode ?? 0, body: response.body as T };
      } catch (error) {
        throw new EsRequestError(`${req.method} ${req.path}`, statusOfClientError(error), error);
      }
    },
    close: () => client.close(),
  };
}
