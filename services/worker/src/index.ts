export * from './flush-runner.ts';
export * from './locks.ts';
export * from './ops.ts';
export * from './recovery.ts';
export * from './scheduler.ts';
export * from './service.ts';
export * from './shard-manager.ts';
export * from './shards.ts';
