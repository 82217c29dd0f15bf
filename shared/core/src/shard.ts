// Shard assignment. shard = FNV-1a (32-bit) of the UTF-8 bytes of "<db>.<table>", modulo the shard
// count; FNV-1a is specified at http://www.isthe.com/chongo/tech/comp/fnv/ and its published test
// values ("" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968) are among the unit tests.
// Row-level sharding (an option for a single very hot table) hashes "<db>.<table>" + NUL + encoded pk.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

export function tableKey(database: string, table: string): string {
  return `${database}.${table}`;
}

/** "<db>.<table>" → its parts, split at the first dot (database names with dots are not supported). */
export function splitTableKey(key: string): { database: string; table: string } {
  const dot = key.indexOf('.');
  if (dot <= 0 || dot === key.length - 1) throw new Error(`malformed table key '${key}'`);
  return { database: key.slice(0, dot), table: key.slice(dot + 1) };
}

export function shardOfTable(key: string, shardCount: number): number {
  return fnv1a32(key) % shardCount;
}

export function shardOfRow(key: string, encodedPk: string, shardCount: number): number {
  return fnv1a32(`${key}\u0000${encodedPk}`) % shardCount;
}

/** The shard of a row: by its table, or by table and key for a table the mapping shards by row. */
export function shardOf(key: string, encodedPk: string, shardCount: number, rowSharded: boolean): number {
  return rowSharded ? shardOfRow(key, encodedPk, shardCount) : shardOfTable(key, shardCount);
}

/** Two-digit shard label used in Redis hash tags, queue names and metrics: 7 → "07". */
export function shardLabel(shard: number): string {
  return String(shard).padStart(2, '0');
}
