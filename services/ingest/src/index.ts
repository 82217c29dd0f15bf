export * from './options.ts';
export * from './runner.ts';
export * from './service.ts';
