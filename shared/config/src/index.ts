export * from './load.ts';
export * from './mapping-file.ts';
export * from './security.ts';
export * from './settings.ts';
