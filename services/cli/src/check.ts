// `sluice check`: does every mapped table equal its index? Exit code 1 when not.

import { checkTables, isClean, tablesOf } from '@sluice/checker';
import { esConnection, loadMapping, requiredSetting } from '@sluice/config';
import { openElastic } from '@sluice/sink';
import type { Command } from 'commander';
import mysql from 'mysql2/promise';
import { settingsOf } from './context.ts';

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('compare MySQL tables with their Elasticsearch indices: missing, stale and extra documents')
    .option('--database <name...>', 'every table of these databases')
    .option('--table <db.table...>', 'these tables')
    .option('--show <n>', 'ids to show per kind of difference', '5')
    .option('--json', 'machine-readable output')
    .action(
      async (
        options: { database?: string[]; table?: string[]; show: string; json?: boolean },
        command: Command,
      ) => {
        const settings = settingsOf(command);
        const sourceUrl = requiredSetting(settings, 'sourceMysqlUrl', 'check');
        if (!options.database && !options.table) throw new Error('check needs --database or --table');
        const db = await mysql.createConnection({ uri: sourceUrl, supportBigNumbers: true });
        const es = await openElastic(esConnection(settings));
        try {
          const tables = [...(options.table ?? [])];
          for (const database of options.database ?? []) tables.push(...(await tablesOf(db, database)));
          const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);
          const diffs = await checkTables(db, es, mapping, tables);
          const show = Number(options.show);
          if (options.json) {
            process.stdout.write(`${JSON.stringify(diffs, null, 2)}\n`);
          } else {
            for (const d of diffs) {
              const state = isClean(d) ? 'OK  ' : 'DIFF';
              process.stdout.write(
                `${state} ${d.table} → ${d.index}: ${d.rows} rows, ${d.docs} docs, ${d.missing.length} missing, ${d.stale.length} stale, ${d.extra.length} extra\n`,
              );
              for (const kind of ['missing', 'stale', 'extra'] as const) {
                if (d[kind].length)
                  process.stdout.write(
                    `     ${kind}: ${d[kind].slice(0, show).join(', ')}${d[kind].length > show ? ', …' : ''}\n`,
                  );
              }
            }
          }
          if (!diffs.every(isClean)) process.exitCode = 1;
        } finally {
          await db.end();
          await es.close();
        }
      },
    );
}
