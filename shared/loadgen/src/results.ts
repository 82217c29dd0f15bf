// Where generators that run apart (the pods of a Kubernetes Job, other machines) leave their results
// for `sluice loadtest report`: one hash per run in Redis, a field per generator instance holding its
// figures and its expected final state (per table: id → last rev, null once deleted). A week's TTL.
import type { Cluster, Redis } from 'ioredis';
import type { FlatProduceStats } from './flat-producer.ts';

export interface GeneratorResult {
  instance: number;
  instances: number;
  database: string;
  topic: string;
  stats: FlatProduceStats;
  finishedAt: number;
  expected: Record<string, Record<string, number | null>>;
}

const TTL_SECONDS = 7 * 24 * 3600;

export function resultsKey(prefix: string, run: string): string {
  return `${prefix}:loadtest:${run}`;
}

export async function storeResult(
  redis: Redis | Cluster,
  prefix: string,
  run: string,
  result: GeneratorResult,
): Promise<void> {
  const key = resultsKey(prefix, run);
  await redis
    .multi()
    .hset(key, String(result.instance), JSON.stringify(result))
    .expire(key, TTL_SECONDS)
    .exec();
}

export async function readResults(
  redis: Redis | Cluster,
  prefix: string,
  run: string,
): Promise<GeneratorResult[]> {
  const fields = await redis.hgetall(resultsKey(prefix, run));
  return Object.values(fields)
    .map((text) => JSON.parse(text) as GeneratorResult)
    .sort((a, b) => a.instance - b.instance);
}

/** The expected states of every generator together; an id written by two of them is refused. */
export function mergeExpected(
  states: ReadonlyArray<Record<string, Record<string, number | null>>>,
): Map<string, Map<string, number | null>> {
  const out = new Map<string, Map<string, number | null>>();
  for (const state of states) {
    for (const [table, rows] of Object.entries(state)) {
      const merged = out.get(table) ?? new Map<string, number | null>();
      for (const [id, rev] of Object.entries(rows)) {
        if (merged.has(id))
          throw new Error(`${table} ${id} was written by two generators: their instances overlap`);
        merged.set(id, rev);
      }
      out.set(table, merged);
    }
  }
  return out;
}
