// Bulk response classification (pure) — the one table that says what each Elasticsearch item status
// means for Sluice:
//
//   2xx                                   done: written
//   409 version_conflict_engine_exception done: Elasticsearch already holds a newer version (refused)
//   404 on a delete                       done: the document is already gone
//   429, 5xx, 404 index_not_found         retry later (the record stays buffered, with backoff)
//   cluster_block_exception (403, 429)    retry later: the index refuses writes for now (a write block
//                                         an operator set, read-only at the disk's flood stage)
//   other 4xx (mapping, parsing, …)       permanent: dead-letter the record with the reason
import type { BulkOp } from './bulk-build.ts';

export type ItemOutcome =
  | { kind: 'done'; result: 'written' | 'refused' | 'absent' }
  | { kind: 'retry'; status: number; reason: string }
  | { kind: 'dead'; status: number; reason: 'es_mapping_error' | 'es_rejected'; detail: string };

export interface BulkItemResult {
  status: number;
  error?: { type?: string; reason?: string; caused_by?: { type?: string; reason?: string } } | undefined;
}

const MAPPING_ERRORS = new Set([
  'mapper_parsing_exception',
  'document_parsing_exception',
  'strict_dynamic_mapping_exception',
  'illegal_argument_exception',
  'mapper_exception',
  'x_content_parse_exception',
]);

export function classifyItem(op: BulkOp, item: BulkItemResult | undefined): ItemOutcome {
  if (!item) return { kind: 'retry', status: 0, reason: 'no item in the bulk response' };
  const { status, error } = item;
  const type = error?.type ?? '';
  if (status >= 200 && status < 300) return { kind: 'done', result: 'written' };
  if (status === 409) return { kind: 'done', result: 'refused' };
  if (status === 404 && op.op === 'delete' && type !== 'index_not_found_exception') {
    return { kind: 'done', result: 'absent' };
  }
  if (
    status === 429 ||
    status >= 500 ||
    type === 'index_not_found_exception' ||
    type === 'cluster_block_exception'
  ) {
    return { kind: 'retry', status, reason: type || `HTTP ${status}` };
  }
  const detail =
    [type, error?.reason, error?.caused_by?.reason].filter(Boolean).join(': ') || `HTTP ${status}`;
  return {
    kind: 'dead',
    status,
    reason: MAPPING_ERRORS.has(type) ? 'es_mapping_error' : 'es_rejected',
    detail,
  };
}

interface RawBulkResponse {
  errors?: boolean;
  items?: Array<Record<string, BulkItemResult>>;
}

/** Pairs every operation with its outcome; a response that does not match the request retries all. */
export function classifyBulkResponse(
  ops: readonly BulkOp[],
  response: RawBulkResponse,
): Array<{ op: BulkOp; outcome: ItemOutcome }> {
  const items = response.items ?? [];
  if (items.length !== ops.length) {
    return ops.map((op) => ({
      op,
      outcome: {
        kind: 'retry',
        status: 0,
        reason: `bulk response has ${items.length} items for ${ops.length} operations`,
      },
    }));
  }
  return ops.map((op, i) => {
    const entry = items[i] ?? {};
    const item = entry.index ?? entry.delete ?? entry.create ?? entry.update;
    return { op, outcome: classifyItem(op, item) };
  });
}
