// The backends of an integration test that runs Sluice's parts in its own process: the stack's Redis
// and Elasticsearch, and a metadata database of the test's own with the migrations applied. Every
// Redis key and index the test makes starts with its prefix, so `close` can remove them all.
import type { EsApi } from '@sluice/sink';
import type { Redis } from 'ioredis';
import { deleteIndicesByPrefix, openEs } from './elastic.ts';
import { type MetaDatabase, openMetaDatabase } from './mysql.ts';
import { deleteKeys, openRedis } from './redis.ts';

export interface Backends {
  /** The prefix of the test's Redis keys and indices (from uniqueIndexPrefix or uniqueName). */
  prefix: string;
  redis: Redis;
  es: EsApi;
  meta: MetaDatabase;
  /** Removes the test's keys, indices and metadata database, and closes the clients. */
  close(): Promise<void>;
}

export async function openBackends(prefix: string): Promise<Backends> {
  const redis = openRedis();
  const es = await openEs();
  const meta = await openMetaDatabase();
  return {
    prefix,
    redis,
    es,
    meta,
    close: async () => {
      try {
        await deleteKeys(redis, prefix);
        await deleteIndicesByPrefix(es, prefix);
      } finally {
        await es.close();
        await redis.quit();
        await meta.close();
      }
    },
  };
}
