// What a nightly check job does: check every table the mapping indexes (the same run as
// `sluice check`, stored with the job's id as its key), then, when SLUICE_CHECK_REPAIR is set, repair
// the ids it found differing (as `sluice repair --from-last-check`, same version rule).
import type { CheckReportRepository } from '@sluice/backup';
import { hasDifferences, mappedTables, runChecks } from '@sluice/checker';
import type { Mapping } from '@sluice/core';
import type { Resync } from '@sluice/resync';
import type { Logger } from '@sluice/runtime';
import type { EsApi } from '@sluice/sink';
import type { Pool } from 'mysql2/promise';

export interface CheckJobDeps {
  source: { pool: Pool; resync: Pick<Resync, 'repairIds'> };
  es: EsApi;
  mapping: Mapping;
  reports: Pick<CheckReportRepository, 'startRun' | 'addTable' | 'finishRun'>;
  logger: Logger;
}

export function checkJob(deps: CheckJobDeps, options: { repair: boolean; recheckAfterMs: number }) {
  return async (scheduleKey: string): Promise<void> => {
    const { pool, resync } = deps.source;
    const tables = await mappedTables(pool, deps.mapping);
    const result = await runChecks(
      { db: pool, es: deps.es, mapping: deps.mapping, reports: deps.reports },
      tables,
      { trigger: 'nightly', scheduleKey },
      { recheckAfterMs: options.recheckAfterMs },
    );
    const log = deps.logger.child({ task: 'nightly-check', job: scheduleKey, run: result.runId });
    if (result.runId === undefined) {
      log.info('this scheduled check has run already');
      return;
    }
    const differing = result.tables.filter(hasDifferences);
    log.info(
      {
        tables: result.tables.length,
        differing: differing.map((t) => ({
          table: t.table,
          missing: t.missing,
          stale: t.stale,
          extra: t.extra,
        })),
      },
      'nightly check finished',
    );
    if (!options.repair) return;
    for (const t of differing) {
      const repaired = await resync.repairIds(t.table, [...t.ids.missing, ...t.ids.stale, ...t.ids.extra]);
      log.info({ ...repaired }, 'repaired what the nightly check found');
    }
  };
}
