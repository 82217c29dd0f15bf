// Reads every document of an index (scroll, in index order).
import { type EsApi, scrollIndex } from '@sluice/sink';

export async function readIndexDocuments(es: EsApi, index: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for await (const hits of scrollIndex(es, index)) for (const hit of hits) out.set(hit._id, hit._source);
  return out;
}
