export * from './random.ts';
export * from './workload.ts';
