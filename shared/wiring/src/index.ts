export * from './closers.ts';
export * from './open.ts';
