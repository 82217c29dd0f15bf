export * from './flat.ts';
export * from './flat-producer.ts';
export * from './random.ts';
export * from './results.ts';
export * from './workload.ts';
