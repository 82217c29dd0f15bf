// The HTTP endpoint of every long-running service: /metrics (Prometheus), /health/live,
// /health/ready, and /status (JSON). Binds to a configurable address; no admin actions here.
import { createServer, type Server } from 'node:http';
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
): Promise<HttpEndpoint> {
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
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
