// Elasticsearch for tests: clients, index prefixes of their own, and removing a test's indices and
// index templates (wildcard deletes are refused by default).
import { type EsApi, type EsOptions, openElastic } from '@sluice/sink';
import { stack } from './stack.ts';
import { uniqueName } from './wait.ts';

export async function deleteIndicesByPrefix(es: EsApi, prefix: string): Promise<void> {
  const listed = await es.request<Array<{ index: string }>>(
    {
      method: 'GET',
      path: `/_cat/indices/${encodeURIComponent(prefix)}*`,
      querystring: { format: 'json', h: 'index' },
    },
    { ignore: [404] },
  );
  for (const { index } of Array.isArray(listed.body) ? listed.body : []) {
    await es.request({ method: 'DELETE', path: `/${encodeURIComponent(index)}` }, { ignore: [404] });
  }
  const templates = await es.request<{ index_templates?: Array<{ name: string }> }>(
    { method: 'GET', path: `/_index_template/${encodeURIComponent(prefix)}*` },
    { ignore: [404] },
  );
  for (const { name } of templates.body.index_templates ?? []) {
    await es.request(
      { method: 'DELETE', path: `/_index_template/${encodeURIComponent(name)}` },
      { ignore: [404] },
    );
  }
}

/** A client of the stack's Elasticsearch (or another one, e.g. a proxy in front of it). */
export function openEs(url = stack().esUrl, options: Partial<EsOptions> = {}): Promise<EsApi> {
  return openElastic({ url, major: 'auto', requestTimeoutMs: 30_000, ...options });
}

/** An index prefix no other test run uses (lower case, as index names must be). */
export function uniqueIndexPrefix(prefix: string): string {
  return `${uniqueName(prefix).toLowerCase().replaceAll('_', '-')}-`;
}
