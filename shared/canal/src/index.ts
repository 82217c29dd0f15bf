export * from './client.ts';
export * from './flat.ts';
export * from './protocol.ts';
export * from './scramble.ts';
