// Long-running services: `sluice ingest`, `sluice worker`.

import { startIngest } from '@sluice/ingest';
import { startWorker } from '@sluice/worker';
import type { Command } from 'commander';
import { loggerOf, settingsOf } from './context.ts';
import { describeFailure } from './exit.ts';

export function registerServiceCommands(program: Command): void {
  program
    .command('ingest')
    .description('consume Canal messages from Kafka into the Redis buffer and the MySQL backup')
    .action(async (_options, command: Command) => {
      const settings = settingsOf(command);
      const logger = loggerOf('ingest', settings);
      try {
        const handle = await startIngest(settings, logger);
        handle.lifecycle.installSignalHandlers();
      } catch (error) {
        const { message, code } = describeFailure(error);
        logger.fatal({ err: error }, message);
        logger.flush();
        process.stderr.write(`sluice ingest: ${message}\n`);
        process.exit(code);
      }
    });

  program
    .command('worker')
    .description('flush the owned shards of the buffer to Elasticsearch every window')
    .action(async (_options, command: Command) => {
      const settings = settingsOf(command);
      const logger = loggerOf('worker', settings);
      try {
        const handle = await startWorker(settings, logger);
        handle.lifecycle.installSignalHandlers();
      } catch (error) {
        const { message, code } = describeFailure(error);
        logger.fatal({ err: error }, message);
        logger.flush();
        process.stderr.write(`sluice worker: ${message}\n`);
        process.exit(code);
      }
    });
}
