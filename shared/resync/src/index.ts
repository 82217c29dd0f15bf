export * from './reindex.ts';
export * from './resync.ts';
export * from './rule.ts';
