export * from './assignment.ts';
export * from './coordinator.ts';
export * from './membership.ts';
export * from './paths.ts';
export * from './zk.ts';
