// Shard lists in settings: "all", or numbers and ranges such as "0-7,9".

export function parseShardList(text: string | undefined, shardCount: number): number[] {
  if (text === undefined || text.trim() === '' || text.trim() === 'all') {
    return Array.from({ length: shardCount }, (_, i) => i);
  }
  const shards = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!match) throw new Error(`'${part.trim()}' is not a shard number or range`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (from > to) throw new Error(`range ${part.trim()} runs backwards`);
    for (let s = from; s <= to; s++) {
      if (s >= shardCount) throw new Error(`shard ${s} is outside 0..${shardCount - 1}`);
      shards.add(s);
    }
  }
  return [...shards].sort((a, b) => a - b);
}
