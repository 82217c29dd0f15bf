// `sluice loadtest`: a random workload on a MySQL database (see @sluice/loadgen): inserts, updates,
// deletes, re-inserts, primary-key changes, a composite-key table and hot rows. Run it from many
// machines at once against one database for a load test of the whole pipeline.

import { requiredSetting } from '@sluice/config';
import { runWorkload } from '@sluice/loadgen';
import type { Command } from 'commander';
import { settingsOf } from './context.ts';
import { Progress } from './progress.ts';

export function registerLoadtestCommand(program: Command): void {
  program
    .command('loadtest')
    .description('run a random workload on a MySQL database (tables accounts, order_lines, hot_counters)')
    .requiredOption('--database <name>', 'database to create the tables in and write to')
    .option('--operations <n>', 'statements to run', '10000')
    .option('--concurrency <n>', 'connections', '4')
    .option('--rate <n>', 'statements per second (default: as fast as possible)')
    .option('--seed <n>', 'random seed (same seed, same operations)', '1')
    .option('--hot-keys <n>', 'rows of hot_counters', '3')
    .option('--json', 'machine-readable output')
    .action(async (options, command: Command) => {
      const settings = settingsOf(command);
      const operations = Number(options.operations);
      const progress = options.json ? undefined : new Progress();
      const line = (done: number) => ({ label: 'loadtest', done, total: operations, unit: 'operations' });
      const stats = await runWorkload({
        url: requiredSetting(settings, 'sourceMysqlUrl', 'loadtest'),
        database: options.database,
        operations,
        concurrency: Number(options.concurrency),
        seed: Number(options.seed),
        hotKeys: Number(options.hotKeys),
        ...(options.rate ? { ratePerSecond: Number(options.rate) } : {}),
        onProgress: (done) => progress?.update(line(done)),
      });
      progress?.done(line(stats.operations));
      if (options.json) {
        process.stdout.write(`${JSON.stringify(stats)}\n`);
        return;
      }
      const kinds = Object.entries(stats.byKind)
        .sort()
        .map(([kind, n]) => `${kind} ${n}`)
        .join(', ');
      process.stdout.write(
        `${stats.operations} operations in ${stats.seconds.toFixed(1)} s (${Math.round(stats.operations / stats.seconds)}/s); ${stats.refused} refused by MySQL (duplicate keys)\n  ${kinds}\n`,
      );
    });
}
