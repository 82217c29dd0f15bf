// Elasticsearch: the one client, with the connection settings (TLS, credentials) of every process.
import { esConnection, type SettingValues } from '@sluice/config';
import { type EsApi, openElastic } from '@sluice/sink';
import type { Closers } from './closers.ts';

export async function openEs(settings: SettingValues, closers: Closers): Promise<EsApi> {
  const es = await openElastic(esConnection(settings));
  closers.onStop('elasticsearch', () => es.close());
  return es;
}
