export * from './protocol.ts';
export * from './scramble.ts';
