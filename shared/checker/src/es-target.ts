// Reads every document of an index (scroll, in index order) with its version.
import type { EsApi } from '@sluice/sink';

interface Hit {
  _id: string;
  _source: unknown;
  _version?: number;
}

interface SearchBody {
  _scroll_id?: string;
  hits: { hits: Hit[] };
}

export async function readIndexDocuments(es: EsApi, index: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  const first = await es.request<SearchBody & { error?: { type?: string } }>(
    {
      method: 'POST',
      path: `/${encodeURIComponent(index)}/_search`,
      querystring: { scroll: '1m' },
      body: { size: 2000, sort: ['_doc'], version: true, query: { match_all: {} } },
    },
    { ignore: [404] },
  );
  if (first.statusCode === 404) return out;
  let body = first.body;
  let scrollId = body._scroll_id;
  try {
    while (body.hits.hits.length > 0) {
      for (const hit of body.hits.hits) out.set(hit._id, hit._source);
      if (!scrollId) break;
      body = (
        await es.request<SearchBody>({
          method: 'POST',
          path: '/_search/scroll',
          body: { scroll: '1m', scroll_id: scrollId },
        })
      ).body;
      scrollId = body._scroll_id ?? scrollId;
    }
  } finally {
    if (scrollId) {
      await es.request(
        { method: 'DELETE', path: '/_search/scroll', body: { scroll_id: scrollId } },
        { ignore: [404] },
      );
    }
  }
  return out;
}
