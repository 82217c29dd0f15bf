// The chaos run: a random MariaDB workload through the whole real pipeline (Canal → Kafka → 1 ingest
// → Redis → 3 workers → Elasticsearch) while faults are injected in random order; then the load
// stops, the pipeline goes quiet and every table is compared with its index. Finally the consumer
// group is reset to the earliest offsets: the replay must leave the index untouched, every replayed
// write refused. A canary row, updated four times a second, measures freshness throughout.
import { setTimeout as sleep } from 'node:timers/promises';
import { canonicalJson, type TableDiff } from '@sluice/checker';
import { runWorkload, seeded, WORKLOAD_TABLES } from '@sluice/loadgen';
import { Kafka, logLevel } from 'kafkajs';
import mysql from 'mysql2/promise';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { metricSum } from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';
import { type ChaosCluster, FAULT_KINDS, FAULTS, type FaultKind, stackUp } from './faults.ts';

export interface ChaosOptions {
  /** Fault rounds in all (each kind in turn, in a shuffled order per cycle). */
  rounds: number;
  /** Keep the load going until at least this many MySQL operations ran. */
  minOperations: number;
  operationsPerSecond: number;
  esOutageMs: number;
  seed: number;
  log: (text: string) => void;
}

export interface FaultStat {
  kind: FaultKind | 'replay';
  count: number;
  /** Longest time from the end of the fault until the canary was fresh again (ms). */
  maxRecoveryMs: number;
}

export interface ChaosReport {
  faults: FaultStat[];
  operations: number;
  /** Whether ingest paused at the high watermark during each Elasticsearch outage. */
  outages: Array<{ ingestPaused: boolean; mostPending: number }>;
  diffs: TableDiff[];
  missing: number;
  stale: number;
  extra: number;
  longestFreshnessGapMs: number;
  /** messages = those the deployment had consumed before the reset; all must be refused. */
  replay: { messages: number; refused: number; indexUnchanged: boolean };
  seconds: number;
}

const TABLES = [...WORKLOAD_TABLES, 'canary'];
/** The canary counts as fresh when ES shows a value at most this old. */
const FRESH_MS = 4000;

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const random = seeded(options.seed);
  const pipeline: Pipeline = await createPipeline({
    env: {
      SLUICE_ZK_SESSION_TIMEOUT_MS: '4000',
      SLUICE_WINDOW_MS: '1000',
      SLUICE_DRAIN_TIMEOUT_MS: '3000',
      SLUICE_BUFFER_HIGH_WATERMARK: '1500',
      SLUICE_BUFFER_LOW_WATERMARK: '500',
      SLUICE_RECOVERY_INTERVAL_MS: '15000',
    },
  });
  const cluster: ChaosCluster = {
    pipeline,
    ingest: await pipeline.start('ingest'),
    workers: [],
    log: options.log,
    esOutageMs: options.esOutageMs,
    observations: [],
  };
  for (let i = 0; i < 3; i++) cluster.workers.push(await pipeline.start('worker'));

  const db = await mysql.createConnection(pipeline.sourceUrl.replace(/\/[^/]*$/, '/'));
  await db.query(`CREATE DATABASE IF NOT EXISTS \`${pipeline.database}\``);
  await db.changeUser({ database: pipeline.database });
  await db.query('CREATE TABLE canary (id INT PRIMARY KEY, ts BIGINT NOT NULL)');
  await db.query('INSERT INTO canary VALUES (1, ?)', [Date.now()]);

  // The load, the canary writer and the freshness watcher run until the faults are over.
  const abort = new AbortController();
  let operations = 0;
  const load = runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations: 1e9,
    concurrency: 4,
    seed: options.seed,
    ratePerSecond: options.operationsPerSecond,
    signal: abort.signal,
    onProgress: (done) => {
      operations = done;
    },
  });
  let canaryRunning = true;
  const canary = (async () => {
    while (canaryRunning) {
      await db.query('UPDATE canary SET ts = ? WHERE id = 1', [Date.now()]).catch(() => undefined);
      await sleep(250);
    }
  })();
  const canaryIndex = pipeline.mapping.defaultIndex(pipeline.database, 'canary');
  let lastFresh = Date.now();
  let longestGap = 0;
  /** The newest canary value seen in Elasticsearch, and when it was first seen. */
  let seen = { ts: 0, at: 0 };
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const doc = await pipeline.es
        .request<{ _source?: { ts: number } }>(
          { method: 'GET', path: `/${canaryIndex}/_doc/1` },
          { ignore: [404] },
        )
        .catch(() => undefined);
      const ts = doc?.body._source?.ts;
      const now = Date.now();
      if (ts !== undefined) {
        if (ts > seen.ts) seen = { ts, at: now };
        longestGap = Math.max(longestGap, now - ts);
        if (now - ts <= FRESH_MS) lastFresh = now;
      } else {
        longestGap = Math.max(longestGap, now - lastFresh);
      }
      await sleep(250);
    }
  })();
  /** When a canary value written after `since` first became visible in Elasticsearch. */
  const freshAgain = (since: number) =>
    waitFor(
      'a change made after the fault to reach Elasticsearch',
      () => (seen.ts > since ? seen.at : undefined),
      {
        timeoutMs: 300_000,
        intervalMs: 100,
      },
    );

  const stats = new Map<FaultKind | 'replay', FaultStat>();
  const record = (kind: FaultKind | 'replay', recoveryMs: number) => {
    const stat = stats.get(kind) ?? { kind, count: 0, maxRecoveryMs: 0 };
    stat.count++;
    stat.maxRecoveryMs = Math.max(stat.maxRecoveryMs, recoveryMs);
    stats.set(kind, stat);
  };

  try {
    await freshAgain(Date.now());
    let plan: FaultKind[] = [];
    for (let round = 1; round <= options.rounds; round++) {
      if (plan.length === 0) plan = [...FAULT_KINDS].sort(() => random() - 0.5);
      const kind = plan.shift() as FaultKind;
      await sleep(1000 + random() * 3000);
      const what = await FAULTS[kind](cluster);
      const ended = Date.now();
      const fresh = await freshAgain(ended);
      record(kind, fresh - ended);
      options.log(
        `round ${round}/${options.rounds} ${kind}: ${what}; a new change visible after ${((fresh - ended) / 1000).toFixed(1)} s (${operations} operations so far)`,
      );
    }
    await waitFor(
      `${options.minOperations} operations`,
      () => (operations >= options.minOperations ? true : undefined),
      {
        timeoutMs: 3_600_000,
        intervalMs: 1000,
      },
    );
  } finally {
    abort.abort();
    canaryRunning = false;
    const workload = await load.catch((error: unknown) => {
      options.log(`workload stopped with an error: ${String(error)}`);
      return undefined;
    });
    operations = workload?.operations ?? operations;
    await canary;
    await stackUp();
  }

  options.log(`load stopped after ${operations} operations; waiting for quiescence`);
  const diffs = await pipeline.waitConverged(TABLES, 600_000).catch(async (error: unknown) => {
    options.log(String(error));
    return pipeline.check(TABLES);
  });
  watching = false;
  await watcher;

  // Replay: the whole topic again from the earliest offsets must change nothing.
  const before = await snapshot(pipeline);
  const refusedBefore = await metricSum(cluster.ingest.httpPort, 'sluice_ingest_refused_total', {
    reason: 'replayed_offset',
  });
  await cluster.ingest.stop();
  const kafka = new Kafka({
    clientId: 'sluice-chaos',
    brokers: stack().kafkaBrokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  // The group's offsets back to the start of each partition (explicit offsets: kafkajs' "earliest"
  // flag commits -2, which a consumer without fromBeginning reads as "latest").
  const starts = await admin.fetchTopicOffsets(stack().kafkaTopic);
  // What this deployment applied: every message of a partition at or below the applied offset its
  // ingest recorded must be refused when it comes again. (The topic is shared with other tests; a
  // partition this group never took a batch from has a committed start offset but nothing applied.)
  const committedOffsets = async () => {
    const [offsets] = await admin.fetchOffsets({
      groupId: pipeline.env.SLUICE_KAFKA_GROUP as string,
      topics: [stack().kafkaTopic],
    });
    return offsets?.partitions ?? [];
  };
  const lowOf = new Map(starts.map((p) => [p.partition, Number(p.low)]));
  const meta = await mysql.createConnection(pipeline.metaUrl);
  const [progress] = await meta.query<mysql.RowDataPacket[]>(
    'SELECT kafka_partition, applied_offset FROM source_progress WHERE topic = ?',
    [stack().kafkaTopic],
  );
  await meta.end();
  const replayed = progress.reduce(
    (n, p) => n + Math.max(0, Number(p.applied_offset) + 1 - (lowOf.get(Number(p.kafka_partition)) ?? 0)),
    0,
  );
  await admin.setOffsets({
    groupId: pipeline.env.SLUICE_KAFKA_GROUP as string,
    topic: stack().kafkaTopic,
    partitions: starts.map((p) => ({ partition: p.partition, offset: p.low })),
  });
  const replayStart = Date.now();
  cluster.ingest = await pipeline.start('ingest');
  // Consumed = the group committed every partition's end as it was at the reset (the load has
  // stopped, so nothing is written after it).
  const ends = new Map(starts.map((p) => [p.partition, Number(p.high)]));
  try {
    await waitFor(
      'the replay to be consumed up to the end of every partition',
      async () => {
        const committed = await committedOffsets();
        const behind = committed.filter((p) => Number(p.offset) < (ends.get(p.partition) ?? 0));
        return committed.length > 0 && behind.length === 0 ? true : undefined;
      },
      { timeoutMs: 600_000, intervalMs: 1000 },
    );
  } finally {
    await admin.disconnect();
  }
  const refused = await metricSum(cluster.ingest.httpPort, 'sluice_ingest_refused_total', {
    reason: 'replayed_offset',
  });
  await sleep(5000);
  const after = await snapshot(pipeline);
  record('replay', Date.now() - replayStart);
  const indexUnchanged = canonicalJson([...before]) === canonicalJson([...after]);
  options.log(
    `replay: ${refused} of ${replayed} replayed messages refused (${refusedBefore} before the reset); index unchanged: ${indexUnchanged}`,
  );

  await db.end();
  await pipeline.close();
  const sum = (key: 'missing' | 'stale' | 'extra') => diffs.reduce((n, d) => n + d[key].length, 0);
  return {
    faults: [...stats.values()],
    operations,
    outages: cluster.observations.filter((o) => o.kind === 'elasticsearch-outage'),
    diffs,
    missing: sum('missing'),
    stale: sum('stale'),
    extra: sum('extra'),
    longestFreshnessGapMs: longestGap,
    replay: { messages: replayed, refused, indexUnchanged },
    seconds: (Date.now() - started) / 1000,
  };
}

/** Every document of the test's indices with its version: "<index>/<id>" → "<version> <source>". */
async function snapshot(pipeline: Pipeline): Promise<Map<string, string>> {
  await pipeline.es.request(
    { method: 'POST', path: `/${pipeline.indexPrefix}*/_refresh` },
    { ignore: [404] },
  );
  const out = new Map<string, string>();
  let body = (
    await pipeline.es.request<{
      _scroll_id?: string;
      hits: { hits: Array<{ _index: string; _id: string; _version: number; _source: unknown }> };
    }>({
      method: 'POST',
      path: `/${pipeline.indexPrefix}*/_search`,
      querystring: { scroll: '1m' },
      body: { size: 5000, version: true, sort: ['_doc'] },
    })
  ).body;
  while (body.hits.hits.length > 0) {
    for (const hit of body.hits.hits)
      out.set(`${hit._index}/${hit._id}`, `${hit._version} ${canonicalJson(hit._source)}`);
    body = (
      await pipeline.es.request<typeof body>({
        method: 'POST',
        path: '/_search/scroll',
        body: { scroll: '1m', scroll_id: body._scroll_id },
      })
    ).body;
  }
  return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
}

export function renderReport(report: ChaosReport): string {
  const lines = [
    '| fault | count | longest time until a change made after it is in Elasticsearch |',
    '|---|---|---|',
    ...report.faults.map((f) => `| ${f.kind} | ${f.count} | ${(f.maxRecoveryMs / 1000).toFixed(1)} s |`),
    '',
    '| figure | value |',
    '|---|---|',
    `| MySQL operations during the run | ${report.operations} |`,
    `| Elasticsearch outages with ingest paused at the watermark | ${report.outages.filter((o) => o.ingestPaused).length} of ${report.outages.length} (largest buffer ${Math.max(0, ...report.outages.map((o) => o.mostPending))} records, high watermark 1500) |`,
    `| documents missing / stale / extra at the end | ${report.missing} / ${report.stale} / ${report.extra} |`,
    `| longest freshness gap (canary) | ${(report.longestFreshnessGapMs / 1000).toFixed(1)} s |`,
    `| replay from the earliest offsets: messages refused / replayed, index unchanged | ${report.replay.refused} / ${report.replay.messages}, ${report.replay.indexUnchanged ? 'yes' : 'NO'} |`,
    `| duration | ${Math.round(report.seconds)} s |`,
  ];
  return lines.join('\n');
}
