export * from './cluster.ts';
export * from './page.ts';
export * from './presence.ts';
export * from './zookeeper.ts';
