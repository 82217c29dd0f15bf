// `sluice repair`: writes rows again from the source MySQL, online, through the buffer and the flush,
// at a version below every change committed after the read (shared/resync/src/rule.ts), so a repair
// never beats a live change. --from-last-check: exactly the ids the newest check of each table found
// differing; otherwise the whole table (every row, then every document whose row is gone).
import { CheckReportRepository } from '@sluice/backup';
import type { RepairResult } from '@sluice/resync';
import { CloseList, openEs } from '@sluice/wiring';
import type { Command } from 'commander';
import { openResync } from './backfill.ts';
import { printResult, settingsOf } from './context.ts';

export function registerRepairCommand(program: Command): void {
  program
    .command('repair')
    .description('re-sync rows from MySQL, online: the differences of the last check, or whole tables')
    .requiredOption('--table <db.table...>', 'tables to repair')
    .option('--from-last-check', 'only the ids the newest check of each table found differing')
    .option('--json', 'machine-readable output')
    .action(
      async (options: { table: string[]; fromLastCheck?: boolean; json?: boolean }, command: Command) => {
        const settings = settingsOf(command);
        const opened = new CloseList();
        try {
          const { resync, metadata } = await openResync(settings, opened);
          const reports = new CheckReportRepository(metadata);
          const results: Array<RepairResult & { rows?: number }> = [];
          for (const table of options.table) {
            if (options.fromLastCheck) {
              const last = await reports.lastDifferences(table);
              if (!last)
                throw new Error(`${table} has no stored check: run sluice check --table ${table} first`);
              results.push(
                await resync.repairIds(
                  table,
                  last.ids.map((d) => d.id),
                ),
              );
            } else {
              const loaded = await resync.backfill(table, { restart: true });
              const extras = await resync.deleteExtras(table, await openEs(settings, opened));
              results.push({ ...extras, upserted: loaded.rows, refused: extras.refused + loaded.refused });
            }
          }
          printResult(!!options.json, { tables: results }, () =>
            results
              .map(
                (r) =>
                  `${r.tableKey}: ${r.upserted} rows written again, ${r.deleted} documents deleted, ${r.refused} already newer${r.unreadable ? `, ${r.unreadable} ids of hashed keys skipped` : ''}`,
              )
              .join('\n'),
          );
        } finally {
          await opened.close();
        }
      },
    );
}
