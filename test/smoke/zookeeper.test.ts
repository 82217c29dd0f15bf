import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import zookeeper from 'node-zookeeper-client';
import { uniqueName, waitFor } from '../support/wait.ts';
import { type RawZk as Client, call, connectZk as connect, removeTree } from '../support/zk.ts';

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
