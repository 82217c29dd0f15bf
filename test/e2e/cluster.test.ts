// The worker cluster on the real stack: ZooKeeper membership, the leader's assignment, per-shard
// flushing under Redlock, with worker processes started, killed, stopped and frozen while a MySQL
// workload keeps running. How fast shards are owned again is measured by test/bench/failover.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runWorkload, WORKLOAD_TABLES } from '@sluice/loadgen';
import { runSluice } from '../support/cli.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { metricsText, type ServiceProcess, workerStatus } from '../support/services.ts';
import { uniqueName, waitFor } from '../support/wait.ts';
import {
  children,
  clusterRoot,
  connectZk,
  memberIds,
  type RawZk,
  readJson,
  removeTree,
} from '../support/zk.ts';

const SESSION_MS = 4000;
let pipeline: Pipeline;
let zk: RawZk;
let cluster: string;
let root: string;

interface RawAssignment {
  epoch: number;
  shards: number;
  owners: string[];
  members?: string[];
}

before(async () => {
  cluster = uniqueName('cluster').replaceAll('_', '-');
  pipeline = await createPipeline({
    env: {
      SLUICE_CLUSTER: cluster,
      SLUICE_ZK_SESSION_TIMEOUT_MS: String(SESSION_MS),
      SLUICE_WINDOW_MS: '1000',
      SLUICE_DRAIN_TIMEOUT_MS: '3000',
    },
  });
  root = clusterRoot(cluster);
  zk = await connectZk();
  await pipeline.start('ingest');
});

after(async () => {
  await pipeline?.close();
  if (zk) {
    await removeTree(zk, root);
    zk.close();
  }
});

function liveWorkers(): ServiceProcess[] {
  return pipeline.services.filter(
    (s) => s.name.startsWith('worker') && s.child.exitCode === null && s.child.signalCode === null,
  );
}

const assignment = () => readJson<RawAssignment>(zk, `${root}/assignment`);

/** Waits until the assignment names exactly these workers and each of them runs what it owns. */
async function settled(workers: ServiceProcess[], timeoutMs = 30_000): Promise<RawAssignment> {
  return waitFor(
    `the assignment to settle on ${workers.length} workers`,
    async () => {
      const a = await assignment();
      if (!a) return undefined;
      const statuses = await Promise.all(workers.map(workerStatus));
      const ids = new Set(statuses.map((s) => s.workerId));
      if (!a.owners.every((owner) => ids.has(owner))) return undefined;
      for (const s of statuses) {
        const expected = a.owners.flatMap((owner, shard) => (owner === s.workerId ? [shard] : []));
        if (JSON.stringify(s.owned) !== JSON.stringify(expected)) return undefined;
      }
      return a;
    },
    { timeoutMs, intervalMs: 100 },
  );
}

/**
 * A worker's per-shard gauge series against what it owns: `sluice_shard_owned` names exactly its
 * shards, and pending / oldest age no other (a shard it gave away has no series left).
 */
async function assertShardSeries(worker: ServiceProcess): Promise<void> {
  const { owned } = await workerStatus(worker);
  const text = await metricsText(worker);
  const shardsOf = (name: string) =>
    [...text.matchAll(new RegExp(`^${name}\\{[^}]*shard="(\\d+)"`, 'gm'))]
      .map((m) => Number(m[1]))
      .sort((x, y) => x - y);
  assert.deepEqual(shardsOf('sluice_shard_owned'), owned, `${worker.name}: owned series`);
  for (const name of ['sluice_buffer_pending_records', 'sluice_buffer_oldest_age_seconds']) {
    const foreign = shardsOf(name).filter((shard) => !owned.includes(shard));
    assert.deepEqual(foreign, [], `${worker.name}: ${name} of shards it does not own`);
  }
}

function countsOf(a: RawAssignment): number[] {
  const counts = new Map<string, number>();
  for (const owner of a.owners) counts.set(owner, (counts.get(owner) ?? 0) + 1);
  return [...counts.values()].sort((x, y) => x - y);
}

/** The fewest moves a balanced assignment over `members` needs, starting from `before`. */
function necessaryMoves(before: RawAssignment, members: readonly string[]): number {
  const live = new Set(members);
  const orphans = before.owners.filter((o) => !live.has(o)).length;
  const held = members.map((m) => before.owners.filter((o) => o === m).length).sort((x, y) => y - x);
  const base = Math.floor(before.shards / members.length);
  let larger = before.shards % members.length;
  let surplus = 0;
  for (const h of held) surplus += Math.max(0, h - (base + (larger-- > 0 ? 1 : 0)));
  return orphans + surplus;
}

/** Records every assignment the leader writes (polling the node). */
function recordAssignments(): { history: RawAssignment[]; stop: () => void } {
  const history: RawAssignment[] = [];
  let running = true;
  void (async () => {
    while (running) {
      const a = await assignment().catch(() => undefined);
      if (a && a.epoch !== history[history.length - 1]?.epoch) history.push(a);
      await sleep(20);
    }
  })();
  return { history, stop: () => (running = false) };
}

interface FlushRow {
  shard: number;
  worker: string;
  start: number;
  end: number;
}

async function flushes(): Promise<FlushRow[]> {
  const rows = await pipeline.queryMeta('SELECT shard, worker, start_time, end_time FROM sync_monitor');
  return rows.map((r) => ({
    shard: Number(r.shard),
    worker: String(r.worker),
    start: new Date(r.start_time).getTime(),
    end: new Date(r.end_time).getTime(),
  }));
}

/** No two workers ever flushed the same shard at the same time. */
function assertNoOverlap(rows: FlushRow[]): void {
  const byShard = new Map<number, FlushRow[]>();
  for (const row of rows) byShard.set(row.shard, [...(byShard.get(row.shard) ?? []), row]);
  for (const [shard, list] of byShard) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as FlushRow;
      const cur = list[i] as FlushRow;
      if (prev.worker !== cur.worker) {
        assert.ok(
          cur.start >= prev.end,
          `shard ${shard}: ${cur.worker} started at ${cur.start} before ${prev.worker} ended at ${prev.end}`,
        );
      }
    }
  }
}

function load(operations: number, rate: number, seed: number): { done: Promise<unknown>; stop: () => void } {
  const abort = new AbortController();
  const done = runWorkload({
    url: pipeline.sourceUrl,
    database: pipeline.database,
    operations,
    concurrency: 4,
    seed,
    ratePerSecond: rate,
    signal: abort.signal,
  });
  return { done, stop: () => abort.abort() };
}

test('3 workers: every shard owned exactly once, 5 or 6 each; `sluice shards --json` agrees with ZooKeeper', async () => {
  const workers = [
    await pipeline.start('worker'),
    await pipeline.start('worker'),
    await pipeline.start('worker'),
  ];
  const a = await settled(workers);
  assert.equal(a.owners.length, 16);
  assert.deepEqual(countsOf(a), [5, 5, 6]);

  const shown = await runSluice(['shards', '--json'], pipeline.env);
  assert.equal(shown.code, 0, shown.stderr);
  const report = JSON.parse(shown.stdout) as {
    epoch: number;
    leader: string;
    members: Array<{ node: string; id: string; pid: number; shards: number[] }>;
    shards: Array<{ shard: number; owner: string }>;
  };
  const raw = await assignment();
  assert.equal(report.epoch, raw?.epoch);
  assert.deepEqual(
    report.shards.map((s) => s.owner),
    raw?.owners,
  );
  const nodes = (await children(zk, `${root}/members`)).sort();
  assert.deepEqual(report.members.map((m) => m.node).sort(), nodes);
  for (const node of nodes) {
    const info = await readJson<{ id: string; pid: number }>(zk, `${root}/members/${node}`);
    const member = report.members.find((m) => m.node === node);
    assert.equal(member?.id, info?.id);
    assert.equal(member?.pid, info?.pid);
    assert.deepEqual(
      member?.shards,
      raw?.owners.flatMap((o, shard) => (o === info?.id ? [shard] : [])),
    );
  }
  assert.equal(report.leader, report.members.sort((x, y) => x.node.localeCompare(y.node))[0]?.id);
});

test('kill -9 of a worker under load: once its session expires, the survivors own its shards; the data converges', async () => {
  const running = liveWorkers();
  const traffic = load(1_000_000, 150, 1);
  await sleep(3000);
  const victim = running[1] as ServiceProcess;
  const victimId = (await workerStatus(victim)).workerId;
  await victim.kill9();
  const survivors = running.filter((w) => w !== victim);
  await settled(survivors, 20_000);
  const survivorIds = (await Promise.all(survivors.map(workerStatus))).map((s) => s.workerId);
  assert.deepEqual(await memberIds(zk, cluster), survivorIds.sort(), `${victimId}'s member node expired`);
  await sleep(3000);
  traffic.stop();
  await traffic.done;
  await pipeline.waitConverged(WORKLOAD_TABLES);
});

test('scaling 3 → 5 → 2 → 4 under load moves only the necessary shards, never flushes a shard twice at once, and converges', async () => {
  const workers = liveWorkers();
  while (workers.length < 3) workers.push(await pipeline.start('worker'));
  await settled(workers);
  const traffic = load(1_000_000, 150, 2);
  const recorder = recordAssignments();
  const scaleTo = async (n: number) => {
    while (workers.length < n) workers.push(await pipeline.start('worker'));
    while (workers.length > n) {
      const leaving = workers.pop() as ServiceProcess;
      await leaving.stop('SIGTERM');
    }
    await settled(workers);
    await sleep(2000);
    for (const worker of workers) await assertShardSeries(worker);
  };
  await scaleTo(5);
  await scaleTo(2);
  await scaleTo(4);
  recorder.stop();
  traffic.stop();
  await traffic.done;

  assert.ok(recorder.history.length >= 4, `the leader wrote ${recorder.history.length} assignments`);
  for (let i = 1; i < recorder.history.length; i++) {
    const prev = recorder.history[i - 1] as RawAssignment;
    const next = recorder.history[i] as RawAssignment;
    const members = next.members ?? [...new Set(next.owners)];
    const moved = next.owners.filter((owner, shard) => owner !== prev.owners[shard]).length;
    assert.equal(moved, necessaryMoves(prev, members), `epoch ${prev.epoch} → ${next.epoch}`);
    const counts = countsOf(next);
    assert.ok((counts.at(-1) ?? 0) - (counts[0] ?? 0) <= 1, `balanced at epoch ${next.epoch}: ${counts}`);
  }
  await pipeline.waitConverged(WORKLOAD_TABLES);
  assertNoOverlap(await flushes());
});

test('a worker frozen (SIGSTOP) past its session flushes nothing after SIGCONT until it has rejoined; no version regression', async () => {
  const workers = liveWorkers();
  await settled(workers);
  const traffic = load(1_000_000, 150, 3);
  await sleep(2000);
  const frozen = workers[workers.length - 1] as ServiceProcess;
  const frozenId = (await workerStatus(frozen)).workerId;
  const stoppedAt = Date.now();
  frozen.child.kill('SIGSTOP');
  const others = workers.filter((w) => w !== frozen);
  await settled(others, SESSION_MS + 10_000);
  await sleep(1000);
  const resumedAt = Date.now();
  frozen.child.kill('SIGCONT');
  const rejoinedAt = await waitFor(
    'the frozen worker to rejoin',
    async () => {
      for (const line of readFileSync(frozen.logFile, 'utf8').split('\n')) {
        if (line.includes('rejoined the cluster'))
          return new Date((JSON.parse(line) as { time: string }).time).getTime();
      }
      return undefined;
    },
    { timeoutMs: 30_000 },
  );
  await settled(workers);
  await sleep(2000);
  traffic.stop();
  await traffic.done;
  await pipeline.waitConverged(WORKLOAD_TABLES);

  const rows = await flushes();
  const early = rows.filter((r) => r.worker === frozenId && r.start >= resumedAt && r.start < rejoinedAt);
  assert.deepEqual(early, [], 'no flush between SIGCONT and rejoining');
  // A batch the frozen worker had in flight when it was stopped spans the freeze by construction
  // (it wrote nothing while frozen; after SIGCONT its next ownership or lease check fences it, and a
  // request already under way is refused by the versions checked below): every other pair of
  // batches of one shard must not overlap.
  const inFlightAtFreeze = (r: (typeof rows)[number]) =>
    r.worker === frozenId && r.start <= stoppedAt && r.end >= resumedAt;
  assertNoOverlap(rows.filter((r) => !inFlightAtFreeze(r)));

  // Elasticsearch holds, for every row, the newest version the backup table saw.
  const newest = await pipeline.queryMeta(
    "SELECT table_name, primary_key, version FROM buffer_backup WHERE operation = 'u' AND table_name LIKE ?",
    [`${pipeline.database}.%`],
  );
  let compared = 0;
  for (const row of newest.slice(0, 300)) {
    const [database, table] = String(row.table_name).split('.') as [string, string];
    const index = pipeline.mapping.defaultIndex(database, table);
    const doc = await pipeline.es.request<{ found: boolean; _version?: number }>(
      { method: 'GET', path: `/${index}/_doc/${encodeURIComponent(String(row.primary_key))}` },
      { ignore: [404] },
    );
    if (!doc.body.found) continue; // deleted later: the delete is newer
    assert.equal(doc.body._version, Number(row.version), `${row.table_name} ${row.primary_key}`);
    compared++;
  }
  assert.ok(compared > 50, `compared ${compared} documents`);
});
