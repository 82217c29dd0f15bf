export * from './check.ts';
export * from './compare.ts';
export * from './es-target.ts';
export * from './mysql-source.ts';
export * from './row-chunks.ts';
export * from './run.ts';
export * from './source-rows.ts';
export * from './table-check.ts';
