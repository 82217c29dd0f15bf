export * from './resync.ts';
export * from './rule.ts';
