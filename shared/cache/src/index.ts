export * from './cache.ts';
export * from './invalidation.ts';
export * from './keys.ts';
