// The faults the chaos suite injects into a running pipeline on the real local stack. Each one
// returns when the fault is over (the process replaced, the server back); the runner then measures
// how long the pipeline takes to be fresh again.
import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Pipeline } from '../support/pipeline.ts';
import type { ServiceProcess } from '../support/services.ts';
import { stackScript } from '../support/stack.ts';
import { waitFor } from '../support/wait.ts';

const run = promisify(execFile);

export const FAULT_KINDS = [
  'kill-worker-mid-flush',
  'kill-ingest-mid-batch',
  'redis-restart',
  'elasticsearch-outage',
  'kafka-restart',
  'canal-restart',
  'zookeeper-restart',
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

export interface ChaosCluster {
  pipeline: Pipeline;
  ingest: ServiceProcess;
  workers: ServiceProcess[];
  log: (text: string) => void;
  /** How long Elasticsearch stays down in an outage. */
  esOutageMs: number;
  observations: Array<{ kind: FaultKind; ingestPaused: boolean; mostPending: number }>;
}

async function stack(...args: string[]): Promise<void> {
  await run('bash', [stackScript, ...args], { maxBuffer: 16 * 1024 * 1024 });
}

async function json<T>(service: ServiceProcess, path: string): Promise<T> {
  return (await (await fetch(`http://127.0.0.1:${service.httpPort}${path}`)).json()) as T;
}

async function replaceWorker(cluster: ChaosCluster, dead: ServiceProcess): Promise<void> {
  cluster.workers = cluster.workers.filter((w) => w !== dead);
  cluster.workers.push(await cluster.pipeline.start('worker'));
}

export const FAULTS: Record<FaultKind, (cluster: ChaosCluster) => Promise<string>> = {
  async 'kill-worker-mid-flush'(cluster) {
    const { victim, shards } = await waitFor(
      'a worker in the middle of a flush',
      async () => {
        for (const worker of cluster.workers) {
          const status = await json<{ flushing: number[] }>(worker, '/status').catch(() => ({
            flushing: [],
          }));
          if (status.flushing.length > 0) return { victim: worker, shards: status.flushing };
        }
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 5 },
    );
    await victim.kill9();
    await replaceWorker(cluster, victim);
    return `killed ${victim.name} while it flushed shards ${shards.join(',')}`;
  },

  async 'kill-ingest-mid-batch'(cluster) {
    await waitFor(
      'ingest in the middle of a batch',
      async () =>
        (await json<{ inFlight: number }>(cluster.ingest, '/status').catch(() => ({ inFlight: 0 })))
          .inFlight > 0
          ? true
          : undefined,
      { timeoutMs: 60_000, intervalMs: 2 },
    );
    const victim = cluster.ingest;
    await victim.kill9();
    cluster.ingest = await cluster.pipeline.start('ingest');
    return `killed ${victim.name} during a batch`;
  },

  async 'redis-restart'() {
    await stack('down', 'redis');
    await stack('up', 'redis');
    return 'Redis restarted without persistence: every buffered record and flush schedule gone';
  },

  async 'elasticsearch-outage'(cluster) {
    await stack('down', 'elasticsearch');
    // Watch ingest meanwhile: the buffer grows until ingest pauses its partitions at the watermark.
    let paused = false;
    let mostPending = 0;
    const until = Date.now() + cluster.esOutageMs;
    while (Date.now() < until) {
      const status = await json<{ paused: boolean; pending: number }>(cluster.ingest, '/status').catch(
        () => undefined,
      );
      paused ||= status?.paused ?? false;
      mostPending = Math.max(mostPending, status?.pending ?? 0);
      await sleep(500);
    }
    cluster.observations.push({ kind: 'elasticsearch-outage', ingestPaused: paused, mostPending });
    await stack('up', 'elasticsearch');
    return `Elasticsearch down for ${cluster.esOutageMs / 1000} s under load (buffer up to ${mostPending} records, ingest ${paused ? 'paused at the watermark' : 'never paused'})`;
  },

  async 'kafka-restart'() {
    await stack('down', 'kafka');
    await stack('up', 'kafka');
    return 'Kafka broker restarted';
  },

  async 'canal-restart'() {
    await stack('down', 'canal');
    await stack('up', 'canal');
    return 'Canal restarted';
  },

  async 'zookeeper-restart'() {
    await stack('down', 'zookeeper');
    await sleep(2000);
    await stack('up', 'zookeeper');
    return 'ZooKeeper restarted (down 2 s and its start-up)';
  },
};

/** Makes sure every stack server is up again (after a failed fault, for instance). */
export async function stackUp(): Promise<void> {
  await stack('up');
}
