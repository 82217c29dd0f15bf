// Reading ZooKeeper with the plain node-zookeeper-client, independently of Sluice's own wrapper.
import zookeeper from 'node-zookeeper-client';
import { stack } from './stack.ts';

export type RawZk = zookeeper.Client;
type Callback<T> = (error: Error | zookeeper.Exception | null, value: T) => void;

export function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
}

export function connectZk(sessionTimeout = 10_000): Promise<RawZk> {
  const client = zookeeper.createClient(stack().zkConnect, { sessionTimeout, retries: 2 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ZooKeeper did not connect within 10 s')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

export async function readJson<T>(client: RawZk, path: string): Promise<T | undefined> {
  try {
    const data = await call<Buffer>((cb) => client.getData(path, (error, value) => cb(error, value)));
    return JSON.parse(data.toString('utf8')) as T;
  } catch (error) {
    if ((error as zookeeper.Exception).getCode?.() === zookeeper.Exception.NO_NODE) return undefined;
    throw error;
  }
}

export async function children(client: RawZk, path: string): Promise<string[]> {
  try {
    return await call<string[]>((cb) => client.getChildren(path, (error, value) => cb(error, value)));
  } catch (error) {
    if ((error as zookeeper.Exception).getCode?.() === zookeeper.Exception.NO_NODE) return [];
    throw error;
  }
}

export async function removeTree(client: RawZk, path: string): Promise<void> {
  for (const child of await children(client, path)) await removeTree(client, `${path}/${child}`);
  await call<void>((cb) => client.remove(path, -1, (error) => cb(error, undefined))).catch(() => undefined);
}

/** The ZooKeeper root of a Sluice cluster (SLUICE_CLUSTER). */
export const clusterRoot = (cluster: string) => `/sluice/${cluster}`;

/** The worker ids of a cluster's member nodes, as they are now. */
export async function memberIds(client: RawZk, cluster: string): Promise<string[]> {
  const members = `${clusterRoot(cluster)}/members`;
  const ids: string[] = [];
  for (const node of await children(client, members)) {
    const info = await readJson<{ id: string }>(client, `${members}/${node}`);
    if (info) ids.push(info.id);
  }
  return ids.sort();
}
