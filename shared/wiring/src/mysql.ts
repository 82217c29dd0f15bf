// The MySQL servers: the metadata database (migrated at open) and the source, read-only.
import { migrate, openPool, type Pool } from '@sluice/backup';
import { mysqlSecurity, requiredSetting, type SettingValues } from '@sluice/config';
import type { Logger } from '@sluice/runtime';
import type { Closers } from './closers.ts';

/** The metadata database (backup, progress, dead letters, monitor), migrated to the current schema. */
export async function openMetadata(
  settings: SettingValues,
  closers: Closers,
  logger?: Logger,
): Promise<Pool> {
  const url = requiredSetting(settings, 'metaMysqlUrl', 'the backup, the progress and the dead letters');
  const pool = await openPool(url, mysqlSecurity(settings));
  closers.onStop('mysql', () => pool.end());
  const migrated = await migrate(pool);
  if (migrated.applied.length > 0) logger?.info({ applied: migrated.applied }, 'metadata schema migrated');
  return pool;
}

/**
 * The source MySQL (read-only use: TRUNCATE sweeps, checks), when configured. Every query names its
 * database, so the pool connects to the server: the URL's database may not exist yet.
 */
export async function openSourceMysql(settings: SettingValues, closers: Closers): Promise<Pool | undefined> {
  if (!settings.sourceMysqlUrl) return undefined;
  const pool = await openPool(
    settings.sourceMysqlUrl,
    { ...mysqlSecurity(settings), database: undefined },
    'MySQL (source)',
  );
  closers.onStop('source-mysql', () => pool.end());
  return pool;
}
