export * from './ends.ts';
export * from './kafka.ts';
