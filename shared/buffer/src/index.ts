export * from './buffer.ts';
export * from './connect.ts';
export * from './layout.ts';
export { installScripts, type RedisLike, scriptSource } from './scripts.ts';
