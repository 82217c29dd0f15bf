export * from './elastic.ts';
export * from './load.ts';
export * from './mapping-file.ts';
export * from './reference.ts';
export * from './security.ts';
export * from './settings.ts';
