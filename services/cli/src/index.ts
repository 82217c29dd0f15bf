export * from './exit.ts';
export * from './replay.ts';
export * from './shards.ts';
