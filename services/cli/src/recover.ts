// `sluice recover`: re-buffers every unsynced backup row (compare-by-version: never replaces newer data).

import { BackupRepository } from '@sluice/backup';
import { Recovery } from '@sluice/pipeline';
import { bufferOn, CloseList, openBufferRedis, openMetadata } from '@sluice/wiring';
import type { Command } from 'commander';
import { cliLogger, printResult, settingsOf } from './context.ts';
import { Progress } from './progress.ts';

export function registerRecoverCommand(program: Command): void {
  program
    .command('recover')
    .description('re-buffer every backup row not yet synced (compare-by-version: never replaces newer data)')
    .option('--shard <n...>', 'only these shards')
    .option('--json', 'machine-readable output')
    .action(async (options: { shard?: string[]; json?: boolean }, command: Command) => {
      const settings = settingsOf(command);
      const opened = new CloseList();
      try {
        const backup = new BackupRepository(await openMetadata(settings, opened));
        const unsynced = options.json ? 0 : await backup.countUnsynced();
        const buffer = bufferOn(
          await openBufferRedis(settings, opened, { name: 'cli', writes: true }),
          settings,
        );
        const shards = options.shard?.map(Number) ?? Array.from({ length: settings.shards }, (_, i) => i);
        const progress = options.json ? undefined : new Progress();
        const line = (scanned: number, shard?: number) => ({
          label: shard === undefined ? 'recover' : `recover (shard ${shard})`,
          done: scanned,
          total: Math.max(unsynced, scanned),
        });
        const result = await new Recovery(buffer, backup, cliLogger()).recoverShards(shards, (shard, so) =>
          progress?.update(line(so.scanned, shard)),
        );
        progress?.done(line(result.scanned));
        printResult(
          !!options.json,
          result,
          () => `scanned ${result.scanned} unsynced backup rows, re-buffered ${result.rebuffered}`,
        );
      } finally {
        await opened.close();
      }
    });
}
