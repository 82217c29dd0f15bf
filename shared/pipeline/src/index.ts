export * from './plan.ts';
export * from './records.ts';
export * from './recovery.ts';
