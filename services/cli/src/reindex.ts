// `sluice reindex <db.table>`: rebuilds the table's index (every table mapped to the same index) into
// a new physical index from the source MySQL, with live changes written to both meanwhile, then swaps
// the alias atomically and deletes the old index (shared/resync/src/reindex.ts). For a mapping change:
// edit the mapping file (or the table), then reindex. Resumable: a killed run continues from its last
// chunk when run again; --abort stops an unfinished one.
import { ReindexJobRepository, TableResetRepository } from '@sluice/backup';
import { esIndexDefaults } from '@sluice/config';
import { Reindex, type ReindexProgress, type ReindexResult } from '@sluice/resync';
import { fieldCapabilities } from '@sluice/sink';
import { CloseList } from '@sluice/wiring';
import type { Command } from 'commander';
import { openResync } from './backfill.ts';
import { cliLogger, printResult, settingsOf } from './context.ts';
import { Progress } from './progress.ts';

export function registerReindexCommand(program: Command): void {
  program
    .command('reindex')
    .description("rebuild a table's index from MySQL behind its alias, online, then swap it in atomically")
    .argument('<table>', 'a table as <db>.<table> (every table mapped to its index is rebuilt)')
    .option('--restart', "start again from the first row, dropping an unfinished run's new index")
    .option('--abort', 'stop an unfinished run: changes stop going to its new index, which is deleted')
    .option('--keep-old', 'leave the old index in place (without the alias) instead of deleting it')
    .option('--rate <rows>', 'rows per second at most (default: SLUICE_RESYNC_MAX_ROWS_PER_SECOND)')
    .option('--json', 'machine-readable output')
    .action(
      async (
        tableKey: string,
        options: { restart?: boolean; abort?: boolean; keepOld?: boolean; rate?: string; json?: boolean },
        command: Command,
      ) => {
        const settings = settingsOf(command, options.rate ? { resyncMaxRowsPerSecond: options.rate } : {});
        const opened = new CloseList();
        const stop = new AbortController();
        const interrupted = () => stop.abort(new Error('interrupted: run sluice reindex again to resume'));
        process.once('SIGINT', interrupted);
        process.once('SIGTERM', interrupted);
        try {
          const { resync, metadata, source, es, mapping } = await openResync(settings, opened);
          const reindex = new Reindex(
            {
              source,
              mapping,
              es,
              jobs: new ReindexJobRepository(metadata),
              fences: new TableResetRepository(metadata),
              versions: resync,
              defaults: esIndexDefaults(settings),
              caps: await fieldCapabilities(es),
              logger: cliLogger(),
            },
            {
              chunkRows: settings.resyncChunkRows,
              ratePerSecond: settings.resyncMaxRowsPerSecond,
              bulkMaxBytes: settings.esBulkMaxBytes,
            },
          );
          if (options.abort) {
            const job = await reindex.abort(tableKey);
            printResult(!!options.json, { aborted: job ?? null }, () =>
              job
                ? `${job.alias}: the rebuild into ${job.target} stopped after ${job.rows} rows; ${job.target} deleted`
                : `${reindex.aliasOf(tableKey)}: no reindex is running`,
            );
            return;
          }
          const progress = new Progress();
          const line = (p: ReindexProgress) => ({
            label: p.alias,
            done: p.rows,
            total: p.estimate,
            rate: p.elapsedMs > 0 ? ((p.rows - p.resumedAt) * 1000) / p.elapsedMs : 0,
          });
          const result: ReindexResult = await reindex.run(tableKey, {
            restart: !!options.restart,
            keepOld: !!options.keepOld,
            signal: stop.signal,
            onProgress: (p) => {
              if (!options.json) progress.update(line(p));
            },
          });
          if (!options.json) progress.done(line(result));
          printResult(!!options.json, result, () =>
            [
              `${result.alias} now names ${result.target}: ${result.rows} rows of ${result.tables.join(', ')} in ${(result.elapsedMs / 1000).toFixed(1)} s${result.resumedAt > 0 ? ` (resumed after ${result.resumedAt})` : ''}, ${result.refused} already newer`,
              result.previous === null
                ? 'there was no index before'
                : result.previous === result.alias
                  ? `the index ${result.alias} made before aliases was replaced`
                  : result.kept
                    ? `${result.previous} is kept, without the alias`
                    : `${result.previous} deleted`,
            ].join('\n'),
          );
        } finally {
          process.off('SIGINT', interrupted);
          process.off('SIGTERM', interrupted);
          await opened.close();
        }
      },
    );
}
