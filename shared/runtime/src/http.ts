// The HTTP endpoint of every long-running service: /metrics (Prometheus), /health/live,
// /health/ready, /status (JSON), and the pages a service adds (the status page at /). Binds to a
// configurable address; admin actions only with the bearer token.
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** The process is not wedged (the event loop runs, the lifecycle has not failed). */
  live(): boolean;
  /** Ready to do its work: dependencies connected, not draining. Returns reasons when not. */
  ready(): { ready: boolean; reasons: string[] };
  /** A JSON-serialisable status document. */
  status(): Promise<unknown> | unknown;
}

/** POST /admin/<name> actions; refused without the bearer token, disabled when no token is set. */
export interface AdminActions {
  token: string | undefined;
  actions: Record<string, () => Promise<unknown>>;
}

function authorized(req: IncomingMessage, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Further GET routes by path (the status page), each answering with a body and its type. */
export type HttpPages = Record<string, () => Promise<{ contentType: string; body: string }>>;

/** GET routes by path prefix (`/rows/`), each answering the whole path with a status and a body. */
export type HttpRoutes = Record<
  string,
  (
    path: string,
  ) => Promise<{ status: number; contentType: string; body: string; headers?: Record<string, string> }>
>;

export interface HttpEndpoint {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startHttp(
  host: string,
  port: number,
  registry: Registry,
  health: HealthSource,
  admin?: AdminActions,
  pages: HttpPages = {},
  routes: HttpRoutes = {},
): Promise<HttpEndpoint> {
  const prefixes = Object.keys(routes);
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    try {
      if (path.startsWith('/admin/')) {
        const action = admin?.actions[path.slice('/admin/'.length)];
        if (req.method !== 'POST') json(405, { error: 'admin actions are POST requests' });
        else if (!admin?.token) json(403, { error: 'admin actions are disabled: set SLUICE_ADMIN_TOKEN' });
        else if (!authorized(req, admin.token)) json(401, { error: 'a valid bearer token is required' });
        else if (!action) json(404, { error: 'no such admin action', actions: Object.keys(admin.actions) });
        else json(200, { ok: true, result: await action() });
      } else if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/metrics') {
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(body);
      } else if (path === '/health/live') {
        const live = health.live();
        res.writeHead(live ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ live }));
      } else if (path === '/health/ready') {
        const ready = health.ready();
        res
          .writeHead(ready.ready ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(ready));
      } else if (Object.hasOwn(pages, path)) {
        const page = await (pages[path] as HttpPages[string])();
        res.writeHead(200, { 'content-type': page.contentType, 'cache-control': 'no-store' }).end(page.body);
      } else if (prefixes.some((prefix) => path.startsWith(prefix))) {
        const prefix = prefixes.find((p) => path.startsWith(p)) as string;
        const answer = await (routes[prefix] as HttpRoutes[string])(path);
        res
          .writeHead(answer.status, { 'content-type': answer.contentType, ...answer.headers })
          .end(req.method === 'HEAD' ? undefined : answer.body);
      } else if (path === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(await health.status()));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      }
    } catch (error) {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: String(error) }));
    }
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The health of a service as ingest, the relay and serve report it: live unless the lifecycle
 * failed; ready when running, with no reason of its own (`reasons`) and every dependency answering.
 */
export function serviceHealth(
  lifecycle: { readonly state: string },
  probes: { reasons(): string[] },
  reasons: () => string[],
  status: HealthSource['status'],
): HealthSource {
  return {
    live: () => lifecycle.state !== 'failed',
    ready: () => {
      const all = [
        ...(lifecycle.state === 'running' ? [] : [`state ${lifecycle.state}`]),
        ...reasons(),
        ...probes.reasons(),
      ];
      return { ready: all.length === 0, reasons: all };
    },
    status,
  };
}
