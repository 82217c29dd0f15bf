// Removing a test's indices and index templates (wildcard deletes are refused by default).
import type { EsApi } from '@sluice/sink';

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
