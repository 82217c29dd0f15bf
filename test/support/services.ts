// Runs Sluice's services as real processes (the `sluice` command), each with its own log file, for
// end-to-end and fault tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { repoRoot } from './stack.ts';
import { waitFor } from './wait.ts';

const SLUICE = `${repoRoot}services/cli/bin/sluice.js`;
export const LOG_DIR = `${repoRoot}.stack/test-logs`;
/** The V8 heap limits the deployment manifests give the services (deploy/k8s): RSS stays bounded. */
export const SERVICE_NODE_OPTIONS = '--max-semi-space-size=8 --max-old-space-size=192';

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  httpPort: number;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | string>;
  kill9(): Promise<void>;
}

function runningPort(logFile: string, marker: string): number | undefined {
  let text = '';
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes(marker)) continue;
    try {
      const port = (JSON.parse(line) as { httpPort?: number }).httpPort;
      if (port) return port;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

/** The long-running `sluice` commands. */
export type ServiceCommand = 'ingest' | 'worker' | 'relay' | 'serve';

/** How a service's process is started and signalled: by default `sluice` of this checkout. */
export interface Launcher {
  spawn(command: ServiceCommand, env: Record<string, string>): ChildProcess;
  /** Sends a signal to the service itself (the launcher's child may be a wrapper around it). */
  signal(child: ChildProcess, signal: NodeJS.Signals): void;
}

export const checkoutLauncher: Launcher = {
  spawn: (command, env) =>
    spawn(process.execPath, [SLUICE, command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  signal: (child, signal) => child.kill(signal),
};

export async function startService(
  name: string,
  command: ServiceCommand,
  env: Record<string, string>,
  { ready = true, timeoutMs = 60_000, launcher = checkoutLauncher } = {},
): Promise<ServiceProcess> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = `${LOG_DIR}/${name}-${Date.now()}.log`;
  const log = createWriteStream(logFile);
  const child = launcher.spawn(command, {
    NODE_OPTIONS: SERVICE_NODE_OPTIONS,
    SLUICE_HTTP_PORT: '0',
    SLUICE_LOG_LEVEL: 'info',
    ...env,
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  let ended: number | string | undefined;
  void exited.then((code) => {
    ended = code;
  });
  // A service that exits while starting fails the start at once (waitFor would retry until its timeout).
  const started = await waitFor(
    `${name} to start (log: ${logFile})`,
    () => {
      if (ended !== undefined) return { exited: ended };
      const port = runningPort(logFile, `"msg":"${command} running"`);
      return port === undefined ? undefined : { port };
    },
    { timeoutMs },
  );
  if ('exited' in started) throw new Error(`${name} exited with ${started.exited}: see ${logFile}`);
  const httpPort = started.port;
  if (ready) {
    const readiness = await waitFor(
      `${name} to be ready (log: ${logFile})`,
      async () => {
        if (ended !== undefined) return { exited: ended };
        const response = await fetch(`http://127.0.0.1:${httpPort}/health/ready`).catch(() => undefined);
        return response?.ok ? { ready: true } : undefined;
      },
      { timeoutMs },
    );
    if ('exited' in readiness) throw new Error(`${name} exited with ${readiness.exited}: see ${logFile}`);
  }
  return {
    name,
    child,
    logFile,
    httpPort,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000) {
      if (ended === undefined) launcher.signal(child, signal);
      const code = await Promise.race([exited, sleep(timeoutMs).then(() => 'timeout' as const)]);
      if (code === 'timeout') {
        launcher.signal(child, 'SIGKILL');
        throw new Error(`${name} did not stop within ${timeoutMs} ms after ${signal}`);
      }
      return code;
    },
    async kill9() {
      launcher.signal(child, 'SIGKILL');
      await exited;
    },
  };
}

/** The sum of a metric's samples in Prometheus text (optionally only those with these labels). */
export function sumSamples(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** A GET of one path of a service's HTTP endpoint. */
export function serviceGet(service: { httpPort: number }, path: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${service.httpPort}${path}`);
}

/** A service's /metrics, as Prometheus text. */
export async function metricsText(service: { httpPort: number }): Promise<string> {
  return (await serviceGet(service, '/metrics')).text();
}

/** Reads a service's metrics and returns the sum of a metric's samples (optionally filtered by labels). */
export async function metricSum(
  port: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  return sumSamples(await metricsText({ httpPort: port }), name, labels);
}

/** What a worker's /status answers (the fields tests read). */
export interface WorkerStatus {
  service: 'worker';
  workerId: string;
  state: string;
  fenced: boolean;
  leader: boolean;
  epoch: number | null;
  owned: number[];
  flushing: number[];
}

/** What an ingest's /status answers (the fields tests read). */
export interface IngestStatus {
  service: 'ingest';
  state: string;
  paused: boolean;
  pending: number;
  lag: number;
  inFlight: number;
}

async function statusOf<T>(service: { httpPort: number }): Promise<T> {
  const response = await serviceGet(service, '/status');
  if (!response.ok) throw new Error(`GET /status on port ${service.httpPort} answered ${response.status}`);
  return (await response.json()) as T;
}

export const workerStatus = (worker: { httpPort: number }) => statusOf<WorkerStatus>(worker);
export const ingestStatus = (ingest: { httpPort: number }) => statusOf<IngestStatus>(ingest);
