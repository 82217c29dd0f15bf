// Long-running services: `sluice ingest`, `sluice worker`, `sluice relay`, `sluice serve`. The CLI does not import the services'
// code: each service package exports its entry (`@sluice/<service>/start`, one function) and the
// command loads it when it runs, so an operator command never loads a service and no service
// depends on another.
import type { SettingValues } from '@sluice/config';
import type { Lifecycle, Logger } from '@sluice/runtime';
import type { Command } from 'commander';
import { loggerOf, settingsOf } from './context.ts';
import { describeFailure } from './exit.ts';

type Start = (settings: SettingValues, logger: Logger) => Promise<{ lifecycle: Lifecycle }>;

/** Where each service's start function lives (the `./start` export of its package). */
const ENTRIES = {
  ingest: { module: '@sluice/ingest/start', start: 'startIngest' },
  worker: { module: '@sluice/worker/start', start: 'startWorker' },
  relay: { module: '@sluice/relay/start', start: 'startRelay' },
  serve: { module: '@sluice/serve/start', start: 'startServe' },
} as const;

async function loadStart(name: keyof typeof ENTRIES): Promise<Start> {
  const entry = ENTRIES[name];
  const module = (await import(entry.module)) as Record<string, unknown>;
  const start = module[entry.start];
  if (typeof start !== 'function') throw new Error(`${entry.module} does not export ${entry.start}`);
  return start as Start;
}

/** Starts a service; a start-up failure is logged, printed and ends the process with its exit code. */
async function run(name: keyof typeof ENTRIES, command: Command): Promise<void> {
  const settings = settingsOf(command);
  const logger = loggerOf(name, settings);
  try {
    const start = await loadStart(name);
    const handle = await start(settings, logger);
    handle.lifecycle.installSignalHandlers();
  } catch (error) {
    const { message, code } = describeFailure(error);
    logger.fatal({ err: error }, message);
    logger.flush();
    process.stderr.write(`sluice ${name}: ${message}\n`);
    process.exit(code);
  }
}

export function registerServiceCommands(program: Command): void {
  program
    .command('ingest')
    .description('consume Canal messages from Kafka into the Redis buffer and the MySQL backup')
    .action((_options, command: Command) => run('ingest', command));

  program
    .command('worker')
    .description('flush the owned shards of the buffer to Elasticsearch every window')
    .action((_options, command: Command) => run('worker', command));

  program
    .command('relay')
    .description(
      "read a Canal destination over Canal's TCP protocol into the Redis Streams (SLUICE_SOURCE=redis-stream)",
    )
    .action((_options, command: Command) => run('relay', command));

  program
    .command('serve')
    .description(
      'answer GET /rows/<db>/<table>/<id> through the row cache and the source MySQL (invalidated by ingest with SLUICE_CACHE_INVALIDATION)',
    )
    .action((_options, command: Command) => run('serve', command));
}
