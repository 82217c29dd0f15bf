// `sluice check`: every mapped table of the chosen databases (or the chosen tables) against its
// index, in bounded memory (shared/checker/src/table-check.ts), with a second look at differences so
// rows changed meanwhile are not reported. Each run is stored (check_runs, check_tables,
// check_differences) and `--last` shows the newest. Exit code 1: differences found.
import { CheckReportRepository, type CheckRun } from '@sluice/backup';
import {
  CACHE_TARGET,
  checkCache,
  hasDifferences,
  runChecks,
  type TableCheckReport,
  tablesOf,
} from '@sluice/checker';
import { loadMapping, requiredSetting } from '@sluice/config';
import { ConfigError } from '@sluice/core';
import { CloseList } from '@sluice/wiring/closers';
import { openEs } from '@sluice/wiring/elasticsearch';
import { openMetadata, openSourceMysql } from '@sluice/wiring/mysql';
import { cacheLayoutOf, openBufferRedis } from '@sluice/wiring/redis';
import type { Command } from 'commander';
import { printResult, settingsOf } from './context.ts';
import { EXIT } from './exit.ts';
import { Progress } from './progress.ts';

interface CheckOptions {
  database?: string[];
  table?: string[];
  show: string;
  json?: boolean;
  last?: boolean;
  recheckAfter?: string;
  cache?: boolean;
  sample: string;
}

function line(
  t: Pick<TableCheckReport, 'table' | 'index' | 'rows' | 'docs' | 'missing' | 'stale' | 'extra' | 'settled'>,
): string {
  const state = hasDifferences(t) ? 'DIFF' : 'OK  ';
  const settled = t.settled > 0 ? `, ${t.settled} changed during the check` : '';
  if (t.index.startsWith(CACHE_TARGET))
    return `${state} ${t.table} → ${t.index}: ${t.docs} entries sampled, ${t.rows} of their rows exist, ${t.stale} stale, ${t.extra} extra${settled}`;
  return `${state} ${t.table} → ${t.index}: ${t.rows} rows, ${t.docs} docs, ${t.missing} missing, ${t.stale} stale, ${t.extra} extra${settled}`;
}

/** A table's line and up to `show` ids of each kind of difference. */
function details(d: TableCheckReport, show: number): string {
  return [
    line(d),
    ...(['missing', 'stale', 'extra'] as const)
      .filter((kind) => d.ids[kind].length > 0)
      .map((kind) => `     ${kind}: ${d.ids[kind].slice(0, show).join(', ')}${d[kind] > show ? ', …' : ''}`),
  ].join('\n');
}

function renderRun(run: CheckRun): string {
  const when = new Date(run.finishedAt ?? run.startedAt).toISOString();
  return [`check run #${run.id} (${run.trigger}), finished ${when}`, ...run.tables.map(line)].join('\n');
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('compare tables with their indices (exit code 1 when they differ); reports are stored')
    .option('--database <name...>', 'every table of these databases')
    .option('--table <db.table...>', 'these tables')
    .option('--last', 'show the newest stored report instead of checking')
    .option('--recheck-after <ms>', 'second look at differences after this long (default: 2 windows + 1 s)')
    .option('--show <n>', 'ids to show per kind of difference', '5')
    .option('--json', 'machine-readable output')
    .option(
      '--cache',
      "compare a sample of the row cache's entries (sluice serve's, in Redis) with MySQL instead of the indices",
    )
    .option('--sample <n>', 'with --cache: entries to compare at most', '1000')
    .action(async (options: CheckOptions, command: Command) => {
      const settings = settingsOf(command);
      const opened = new CloseList();
      try {
        const reports = new CheckReportRepository(await openMetadata(settings, opened));
        if (options.last) {
          const run = await reports.lastRun();
          if (!run) throw new Error('no check has been stored yet');
          printResult(!!options.json, run, () => renderRun(run));
          if (run.tables.some(hasDifferences)) process.exitCode = EXIT.negative;
          return;
        }
        requiredSetting(settings, 'sourceMysqlUrl', 'check');
        if (!options.database && !options.table && !options.cache)
          throw new Error('check needs --database, --table, --cache or --last');
        const source = (await openSourceMysql(settings, opened)) as NonNullable<
          Awaited<ReturnType<typeof openSourceMysql>>
        >;
        const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);
        const tables = [...(options.table ?? [])];
        for (const database of options.database ?? []) tables.push(...(await tablesOf(source, database)));
        const recheckAfterMs = options.recheckAfter
          ? Number(options.recheckAfter)
          : 2 * settings.windowMs + 1000;
        if (options.cache) {
          const sample = Number(options.sample);
          if (!Number.isInteger(sample) || sample < 1)
            throw new ConfigError('--sample', 'must be a whole number ≥ 1');
          const redis = await openBufferRedis(settings, opened, { name: 'check' });
          const { reports: done, skipped } = await checkCache(
            { db: source, redis, mapping, layout: cacheLayoutOf(settings) },
            { ...(options.database || options.table ? { tables } : {}), sample, recheckAfterMs },
          );
          const runId = await reports.startRun('cli');
          if (runId !== undefined) {
            for (const report of done) await reports.addTable(runId, report);
            await reports.finishRun(runId);
          }
          printResult(!!options.json, { runId, tables: done, skipped }, () =>
            [
              ...(done.length === 0
                ? ['the sample holds no cache entries']
                : done.map((d) => details(d, Number(options.show)))),
              ...skipped.map(
                (t) => `SKIP ${t}: not indexed by the mapping (its entries are not in Sluice's form)`,
              ),
            ].join('\n'),
          );
          if (done.some(hasDifferences)) process.exitCode = EXIT.negative;
          return;
        }
        const es = await openEs(settings, opened);
        const { runId, tables: done } = await runChecks(
          { db: source, es, mapping, reports },
          tables,
          { trigger: 'cli' },
          {
            recheckAfterMs,
            onTable: (table) => {
              if (options.json) return undefined;
              const progress = new Progress();
              return (p) => progress.update({ label: `${table} ${p.phase}`, done: p.done, total: p.total });
            },
          },
        );
        printResult(!!options.json, { runId, tables: done }, () =>
          done.map((d) => details(d, Number(options.show))).join('\n'),
        );
        if (done.some(hasDifferences)) process.exitCode = EXIT.negative;
      } finally {
        await opened.close();
      }
    });
}
