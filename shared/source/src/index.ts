export * from './ends.ts';
export * from './handle.ts';
export * from './kafka.ts';
export * from './lease.ts';
export * from './redis-stream.ts';
export * from './source.ts';
export * from './stream-writer.ts';
export * from './streams.ts';
