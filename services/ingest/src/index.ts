export * from './plan.ts';
export * from './runner.ts';
export * from './service.ts';
