export * from './backpressure.ts';
export * from './options.ts';
export * from './runner.ts';
export * from './service.ts';
