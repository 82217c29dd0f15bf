import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { stack } from '../support/stack.ts';
import { uniqueName, waitFor } from '../support/wait.ts';

type Client = zookeeper.Client;

function connect(): Promise<Client> {
  const client = zookeeper.createClient(stack().zkConnect, { sessionTimeout: 4000, retries: 2 });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ZooKeeper did not connect within 10 s')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

type Callback<T> = (error: Error | zookeeper.Exception | null, value: T) => void;

function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value))));
}

async function removeTree(client: Client, path: string): Promise<void> {
  const children = await call<string[]>((cb) => client.getChildren(path, cb));
  for (const child of children) await removeTree(client, `${path}/${child}`);
  await call<void>((cb) => client.remove(path, -1, (error) => cb(error, undefined)));
}

const root = `/sluice-smoke/${uniqueName('zk')}`;
let observer: Client;

before(async () => {
  observer = await connect();
  await call<string>((cb) => observer.mkdirp(root, cb));
});

after(async () => {
  await removeTree(observer, root);
  observer.close();
});

test('ZooKeeper removes an ephemeral node when its session closes', async () => {
  const owner = await connect();
  const path = await call<string>((cb) =>
    owner.create(
      `${root}/member-`,
      Buffer.from('{"id":"smoke"}'),
      zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
      cb,
    ),
  );
  assert.match(path, /member-\d{10}$/);

  const stat = await call<zookeeper.Stat | null>((cb) => observer.exists(path, cb));
  assert.ok(stat, 'the observer sees the ephemeral node');
  assert.equal(
    stat.ephemeralOwner.toString('hex'),
    owner.getSessionId().toString('hex'),
    'the node belongs to the creating session',
  );

  owner.close();
  await waitFor(
    'the ephemeral node to vanish',
    async () =>
      (await call<zookeeper.Stat | null>((cb) => observer.exists(path, cb))) === null ? true : undefined,
    { timeoutMs: 10_000 },
  );
  const children = await call<string[]>((cb) => observer.getChildren(root, cb));
  assert.deepEqual(children, []);
});
