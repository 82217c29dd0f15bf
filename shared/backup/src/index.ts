export * from './backup-repository.ts';
export * from './backup-sql.ts';
export * from './chunk.ts';
export * from './dead-letters.ts';
export * from './migrate.ts';
export * from './pool.ts';
export * from './sync-monitor.ts';
export * from './table-resets.ts';
