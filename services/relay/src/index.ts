export * from './options.ts';
export * from './relay.ts';
export * from './service.ts';
