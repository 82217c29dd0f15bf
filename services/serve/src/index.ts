export * from './options.ts';
export * from './rows.ts';
export * from './service.ts';
