// Splitting multi-row statements so none exceeds the server's packet limit (max_allowed_packet:
// 16 MiB by default on MariaDB 10.11, 64 MiB on MySQL 8).

/** Default byte budget of one multi-row statement. */
export const STATEMENT_BYTES = 4 * 1024 * 1024;

/**
 * Consecutive groups of at most `maxCount` items and `maxBytes` bytes (by `sizeOf`); an item larger
 * than the budget goes alone. Order is kept.
 */
export function chunkByBytes<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxBytes: number,
  maxCount: number,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (bytes + size > maxBytes || current.length >= maxCount)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
