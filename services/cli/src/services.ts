// Long-running services: `sluice ingest`, `sluice worker`.

import type { SettingValues } from '@sluice/config';
import { startIngest } from '@sluice/ingest';
import type { Lifecycle, Logger } from '@sluice/runtime';
import { startWorker } from '@sluice/worker';
import type { Command } from 'commander';
import { loggerOf, settingsOf } from './context.ts';
import { describeFailure } from './exit.ts';

type Start = (settings: SettingValues, logger: Logger) => Promise<{ lifecycle: Lifecycle }>;

/** Starts a service; a start-up failure is logged, printed and ends the process with its exit code. */
async function run(name: 'ingest' | 'worker', start: Start, command: Command): Promise<void> {
  const settings = settingsOf(command);
  const logger = loggerOf(name, settings);
  try {
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
    .action((_options, command: Command) => run('ingest', startIngest, command));

  program
    .command('worker')
    .description('flush the owned shards of the buffer to Elasticsearch every window')
    .action((_options, command: Command) => run('worker', startWorker, command));
}
