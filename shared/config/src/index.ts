export * from './load.ts';
export * from './mapping-file.ts';
export * from './settings.ts';
