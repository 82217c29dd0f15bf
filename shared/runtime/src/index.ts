export * from './http.ts';
export * from './lifecycle.ts';
export * from './logger.ts';
export * from './metrics.ts';
export * from './periodic.ts';
export * from './probes.ts';
export * from './version.ts';
