// `sluice backfill <db.table…>`: the initial load of existing tables from the source MySQL while the
// incremental sync runs (never paused). Rows go through the buffer and the flush like any change, at
// a version below every change committed after they were read (shared/resync/src/rule.ts). A run
// checkpoints after every chunk; a run of a table that did not finish resumes after its last chunk.
import { loadMapping, requiredSetting, type SettingValues } from '@sluice/config';
import type { Mapping } from '@sluice/core';
import type { BackfillResult, Resync } from '@sluice/resync';
import type { EsApi } from '@sluice/sink';
import {
  bufferOn,
  CloseList,
  openBufferRedis,
  openEs,
  openMetadata,
  openSourceMysql,
  resyncOn,
} from '@sluice/wiring';
import type { Command } from 'commander';
import type { Pool } from 'mysql2/promise';
import { cliLogger, printResult, settingsOf } from './context.ts';
import { Progress } from './progress.ts';

/** The re-sync of the CLI's commands, and what it was built on (for the commands' own use). */
export async function openResync(
  settings: SettingValues,
  opened: CloseList,
): Promise<{ resync: Resync; metadata: Pool; source: Pool; es: EsApi; mapping: Mapping }> {
  requiredSetting(settings, 'sourceMysqlUrl', 'backfill');
  const logger = cliLogger();
  const metadata = await openMetadata(settings, opened);
  const source = (await openSourceMysql(settings, opened)) as Pool;
  const buffer = bufferOn(await openBufferRedis(settings, opened, { name: 'cli', writes: true }), settings);
  const es = await openEs(settings, opened);
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);
  const resync = resyncOn(settings, { source, metadata, buffer, es, mapping }, opened, logger);
  return { resync, metadata, source, es, mapping };
}

export function registerBackfillCommand(program: Command): void {
  program
    .command('backfill')
    .description('load existing rows of tables from the source MySQL, online (resumable, throttled)')
    .argument('<tables...>', 'tables as <db>.<table>')
    .option('--restart', 'start from the first row, ignoring a checkpoint of an unfinished run')
    .option('--rate <rows>', 'rows per second at most (default: SLUICE_RESYNC_MAX_ROWS_PER_SECOND)')
    .option('--json', 'machine-readable output')
    .action(
      async (tables: string[], options: { restart?: boolean; rate?: string; json?: boolean }, command) => {
        const settings = settingsOf(command, options.rate ? { resyncMaxRowsPerSecond: options.rate } : {});
        const opened = new CloseList();
        const stop = new AbortController();
        const interrupted = () =>
          stop.abort(new Error('interrupted: the checkpoint of the last chunk is kept'));
        process.once('SIGINT', interrupted);
        process.once('SIGTERM', interrupted);
        try {
          const { resync } = await openResync(settings, opened);
          const results: BackfillResult[] = [];
          for (const table of tables) {
            const progress = new Progress();
            const line = (p: { rows: number; estimate: number; resumedAt: number; elapsedMs: number }) => ({
              label: table,
              done: p.rows,
              total: p.estimate,
              rate: p.elapsedMs > 0 ? ((p.rows - p.resumedAt) * 1000) / p.elapsedMs : 0,
            });
            const result = await resync.backfill(table, {
              restart: !!options.restart,
              signal: stop.signal,
              onProgress: (p) => {
                if (!options.json) progress.update(line(p));
              },
            });
            if (!options.json) progress.done(line(result));
            results.push(result);
          }
          printResult(!!options.json, { tables: results }, () =>
            results
              .map(
                (r) =>
                  `${r.tableKey}: ${r.rows} rows${r.resumedAt > 0 ? ` (resumed after ${r.resumedAt})` : ''} in ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.refused} already newer in the buffer`,
              )
              .join('\n'),
          );
        } finally {
          process.off('SIGINT', interrupted);
          process.off('SIGTERM', interrupted);
          await opened.close();
        }
      },
    );
}
