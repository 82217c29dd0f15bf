// Bulk request building (pure). Every write carries the row's version as an external version, so
// Elasticsearch itself refuses anything older than what it holds (the final fence against stale
// writes from retries, replays and overlapping flushes).

export interface BulkOp {
  /** Returned untouched with the item's outcome (e.g. the buffer field). */
  ref: string;
  index: string;
  id: string;
  version: number;
  op: 'upsert' | 'delete';
  /** The document as JSON text (ignored for deletes). */
  json: string;
  /**
   * external (default): written only if newer than what the index holds. external_gte: also at the
   * same version (a sweep removes the very version it read).
   */
  versionType?: 'external' | 'external_gte';
}

export interface BulkChunk {
  ops: BulkOp[];
  body: string;
  bytes: number;
}

export function actionLine(op: BulkOp): string {
  const action = op.op === 'delete' ? 'delete' : 'index';
  return JSON.stringify({
    [action]: {
      _index: op.index,
      _id: op.id,
      version: op.version,
      version_type: op.versionType ?? 'external',
    },
  });
}

/**
 * NDJSON chunks of at most `maxBytes` and `maxOps` operations each (a single operation larger than
 * the byte limit gets a chunk of its own). Order is kept.
 */
export function buildBulkChunks(
  ops: readonly BulkOp[],
  maxBytes: number,
  maxOps = Number.POSITIVE_INFINITY,
): BulkChunk[] {
  const chunks: BulkChunk[] = [];
  let parts: string[] = [];
  let chunkOps: BulkOp[] = [];
  let bytes = 0;
  const flush = () => {
    if (chunkOps.length === 0) return;
    chunks.push({ ops: chunkOps, body: parts.join(''), bytes });
    parts = [];
    chunkOps = [];
    bytes = 0;
  };
  for (const op of ops) {
    const text = op.op === 'delete' ? `${actionLine(op)}\n` : `${actionLine(op)}\n${op.json}\n`;
    const size = Buffer.byteLength(text);
    if ((bytes > 0 && bytes + size > maxBytes) || chunkOps.length >= maxOps) flush();
    parts.push(text);
    chunkOps.push(op);
    bytes += size;
  }
  flush();
  return chunks;
}
