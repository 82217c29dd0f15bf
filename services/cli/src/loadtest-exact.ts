// Whether the index holds every key's last write of the generators' expected final state (and no key
// whose last write deleted it): the end of every load test, local or in a cluster.
import { readIndexDocuments } from '@sluice/checker';
import { loadMapping, type SettingValues } from '@sluice/config';
import { CloseList } from '@sluice/wiring/closers';
import { openEs } from '@sluice/wiring/elasticsearch';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Until the index holds every key's last write of the generators' expected states (or the timeout). */
export async function waitExact(
  settings: SettingValues,
  database: string,
  expected: ReadonlyMap<string, ReadonlyMap<string, number | null>>,
  timeoutMs: number,
) {
  const keys = [...expected.values()].reduce((sum, rows) => sum + rows.size, 0);
  const closers = new CloseList();
  const es = await openEs(settings, closers);
  const mapping = loadMapping(settings.mappingFile, settings.esIndexPrefix);
  const started = Date.now();
  let mismatch = '';
  try {
    for (;;) {
      mismatch = '';
      for (const [table, rows] of expected) {
        const route = mapping.route(database, table);
        if (route.action !== 'index') throw new Error(`${database}.${table} is not indexed by the mapping`);
        const index = route.mapping.index;
        await es.request({ method: 'POST', path: `/${index}/_refresh` }, { ignore: [404] });
        const docs = await readIndexDocuments(es, index).catch(() => new Map<string, unknown>());
        const live = [...rows].filter(([, rev]) => rev !== null);
        if (docs.size !== live.length) mismatch = `${table}: ${docs.size} documents, ${live.length} expected`;
        for (const [id, rev] of live) {
          if (mismatch) break;
          const doc = docs.get(id) as { rev?: number } | undefined;
          if (doc?.rev !== rev) mismatch = `${table} ${id}: rev ${doc?.rev} in the index, ${rev} expected`;
        }
        if (mismatch) break;
      }
      const seconds = (Date.now() - started) / 1000;
      if (!mismatch) return { exact: true, seconds, keys, mismatch: undefined };
      if (seconds * 1000 >= timeoutMs) return { exact: false, seconds, keys, mismatch };
      await sleep(2000);
    }
  } finally {
    await closers.close();
  }
}
