// Every connection a Sluice process opens, from the settings: one function per dependency, so the
// options (security, names, retry ceilings, ACLs) are the same in every process. Each checks the
// dependency at open (a DependencyError names it and its address) and registers its close. One module
// per dependency, each also its own entry (`@sluice/wiring/mysql`, …): a process that needs only some
// dependencies loads only their clients.
export * from './closers.ts';
export * from './elasticsearch.ts';
export * from './mysql.ts';
export * from './redis.ts';
export * from './resync.ts';
export * from './status.ts';
export * from './zookeeper.ts';
