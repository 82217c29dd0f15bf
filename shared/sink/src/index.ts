export * from './aliases.ts';
export * from './bulk-build.ts';
export * from './bulk-classify.ts';
export * from './client.ts';
export * from './indices.ts';
export * from './request-errors.ts';
export * from './schema.ts';
export * from './scroll.ts';
