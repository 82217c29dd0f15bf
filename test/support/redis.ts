// Redis for tests: the stack's server, key clean-up, and private servers of a test's own.
import { spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { Redis } from 'ioredis';
import { stack } from './stack.ts';
import { waitFor } from './wait.ts';

/** A client of the stack's Redis. */
export function openRedis(): Redis {
  return new Redis(stack().redisUrl);
}

/** The stack's Redis of the streams (append-only file, fsync always). */
export function openStreamRedis(): Redis {
  const redis = new Redis(stack().streamRedisUrl);
  // a test may restart this Redis: the client reconnects, its errors meanwhile are expected
  redis.on('error', () => undefined);
  return redis;
}

/** Deletes every key under a Sluice prefix: `prefix:…` and the hash-tagged `{prefix:…}…`. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of [`{${prefix}:*`, `${prefix}:*`]) {
    for await (const keys of redis.scanStream({ match: pattern, count: 1000 })) {
      if ((keys as string[]).length) await redis.del(...(keys as string[]));
    }
  }
}

/** A TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface OwnRedis {
  port: number;
  /** redis://[:password@]127.0.0.1:port */
  url: string;
  stop(): Promise<void>;
}

/**
 * A Redis of the test's own (Debian's redis-server, as in the stack), without persistence, with the
 * given extra arguments; resolves once it answers PING.
 */
export async function startRedisServer(
  args: string[] = [],
  { password }: { password?: string } = {},
): Promise<OwnRedis> {
  const port = await freePort();
  const auth = password === undefined ? [] : ['--requirepass', password];
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', ...auth, '--save', '', '--appendonly', 'no', ...args],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `redis://${password === undefined ? '' : `:${encodeURIComponent(password)}@`}127.0.0.1:${port}`;
  await waitFor(`the Redis of the test on port ${port} to answer`, async () => {
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG' ? true : undefined;
    } finally {
      probe.disconnect();
    }
  });
  return {
    port,
    url,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The role (master, slave) of one node of the stack's Redis Cluster, host:port. */
export async function clusterNodeRole(address: string): Promise<string> {
  const [host, port] = address.split(':');
  const client = new Redis({ host, port: Number(port), lazyConnect: false, maxRetriesPerRequest: 1 });
  try {
    return ((await client.call('ROLE')) as [string])[0];
  } finally {
    client.disconnect();
  }
}

/**
 * Promotes a replica of the stack's Redis Cluster with CLUSTER FAILOVER. A manual failover waits for
 * the replica to have its master's offset and gives up after a while (a busy machine): asked again
 * until the replica is a master.
 */
export async function promoteReplica(address: string, timeoutMs = 60_000): Promise<void> {
  const [host, port] = address.split(':');
  const promoted = new Redis({ host, port: Number(port) });
  try {
    let asked = 0;
    await waitFor(
      `${address} to be a master`,
      async () => {
        if (((await promoted.call('ROLE')) as [string])[0] === 'master') return true;
        if (asked++ % 25 === 0) await promoted.call('CLUSTER', 'FAILOVER');
        return undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } finally {
    promoted.disconnect();
  }
}
