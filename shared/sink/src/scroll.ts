// Every document of an index, page by page (scroll in index order), with its version.
import type { EsApi } from './client.ts';

export interface ScrolledHit {
  _id: string;
  _version?: number;
  _source?: unknown;
}

interface Page {
  _scroll_id?: string;
  hits: { hits: ScrolledHit[] };
}

/** Pages of hits; nothing when the index does not exist. `source: false` reads ids and versions only. */
export async function* scrollIndex(
  es: EsApi,
  index: string,
  options: { pageSize?: number; source?: boolean } = {},
): AsyncGenerator<ScrolledHit[]> {
  const first = await es.request<Page>(
    {
      method: 'POST',
      path: `/${encodeURIComponent(index)}/_search`,
      querystring: { scroll: '1m' },
      body: {
        size: options.pageSize ?? 2000,
        sort: ['_doc'],
        version: true,
        _source: options.source ?? true,
        query: { match_all: {} },
      },
    },
    { ignore: [404] },
  );
  if (first.statusCode === 404) return;
  let page = first.body;
  let scrollId = page._scroll_id;
  try {
    while (page.hits.hits.length > 0) {
      yield page.hits.hits;
      if (!scrollId) break;
      page = (
        await es.request<Page>({
          method: 'POST',
          path: '/_search/scroll',
          body: { scroll: '1m', scroll_id: scrollId },
        })
      ).body;
      scrollId = page._scroll_id ?? scrollId;
    }
  } finally {
    if (scrollId) {
      await es.request(
        { method: 'DELETE', path: '/_search/scroll', body: { scroll_id: scrollId } },
        { ignore: [404] },
      );
    }
  }
}
