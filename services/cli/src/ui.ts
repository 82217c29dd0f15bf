// `sluice ui`: the cluster's status page, served on this machine from the CLI's settings (like
// `kubectl proxy`): every service serves the same page at its own /, this one needs no port-forward.
// Reads ZooKeeper (members, assignment), Redis (presence, buffer stats) and the metadata MySQL (dead
// letters, check reports); writes nothing.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectClusterStatus, statusPageRoutes } from '@sluice/status';
import { CloseList, openBufferRedis, openMetadata, zkSession } from '@sluice/wiring';
import { clusterSources } from '@sluice/wiring/status';
import type { Command } from 'commander';
import { cliLogger, settingsOf } from './context.ts';

interface UiOptions {
  host: string;
  port: string;
  open?: boolean;
}

export function registerUiCommand(program: Command): void {
  program
    .command('ui')
    .description("serve the cluster's status page here (shard map, members, lag, dead letters, last check)")
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', '9400')
    .option('--open', 'open it in the default browser (xdg-open)')
    .action(async (options: UiOptions, command: Command) => {
      const settings = settingsOf(command);
      const logger = cliLogger();
      const opened = new CloseList();
      const redis = await openBufferRedis(settings, opened, { name: 'ui' });
      const metadata = await openMetadata(settings, opened);
      const zk = settings.zkConnect
        ? zkSession({ ...settings, zkConnect: settings.zkConnect }, logger)
        : undefined;
      if (zk) {
        await zk.connect();
        opened.onStop('zookeeper', () => zk.close());
      }
      const routes = statusPageRoutes(() =>
        collectClusterStatus(clusterSources(settings, { redis, metadata, zk })),
      );
      const server = createServer(async (req, res) => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const route = Object.hasOwn(routes, path) ? routes[path] : undefined;
        if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        try {
          const page = await route();
          res
            .writeHead(200, { 'content-type': page.contentType, 'cache-control': 'no-store' })
            .end(page.body);
        } catch (error) {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`);
        }
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(Number(options.port), options.host, resolve);
      });
      const { port } = server.address() as AddressInfo;
      const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}/`;
      process.stdout.write(`sluice ui: ${url} (cluster ${settings.cluster}; Ctrl-C to stop)\n`);
      if (options.open)
        spawn('xdg-open', [url], { stdio: 'ignore', detached: true })
          .on('error', () => undefined)
          .unref();
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      server.close();
      server.closeAllConnections();
      await opened.close();
    });
}
