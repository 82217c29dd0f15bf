export * from './exit.ts';
export * from './replay.ts';
