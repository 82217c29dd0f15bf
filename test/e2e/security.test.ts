// Security basics on real servers: authenticated connections (a Redis that requires a password, a
// MySQL user with its own password, Kafka SASL/PLAIN, an Elasticsearch API key, a ZooKeeper digest
// ACL), secrets given as files, an admin token; and no secret ever in a log line, an error, /metrics,
// /status or the output of `sluice`.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import mysql from 'mysql2/promise';
import zookeeper from 'node-zookeeper-client';
import { runSluice } from '../support/cli.ts';
import { createPipeline, type Pipeline } from '../support/pipeline.ts';
import { type OwnRedis, startRedisServer } from '../support/redis.ts';
import { type ServiceProcess, serviceGet } from '../support/services.ts';
import { stack } from '../support/stack.ts';
import { uniqueName } from '../support/wait.ts';
import { call, clusterRoot, connectZk } from '../support/zk.ts';

const secrets = {
  redis: `redis-pw-${uniqueName('s')}`,
  mysql: `mysql-pw-${uniqueName('s')}`,
  es: `es-key-${uniqueName('s')}`,
  zk: `zk-pw-${uniqueName('s')}`,
  admin: `admin-token-${uniqueName('s')}`,
};
let redisServer: OwnRedis;
let pipeline: Pipeline;
let ingest: ServiceProcess;
let worker: ServiceProcess;
let env: Record<string, string>;
const mysqlUser = uniqueName('sec').slice(0, 30);
const outputs: string[] = [];

before(async () => {
  // A Redis of this test's own that refuses clients without the password.
  redisServer = await startRedisServer([], { password: secrets.redis });
  pipeline = await createPipeline();

  // A MySQL user with its own password, owning the metadata database.
  const metaDb = new URL(pipeline.metaUrl).pathname.slice(1);
  const admin = await mysql.createConnection(stack().metaMysqlUrl);
  await admin.query(`CREATE USER '${mysqlUser}'@'127.0.0.1' IDENTIFIED BY '${secrets.mysql}'`);
  await admin.query(`GRANT ALL ON \`${metaDb}\`.* TO '${mysqlUser}'@'127.0.0.1'`);
  await admin.end();
  const meta = new URL(pipeline.metaUrl);
  meta.username = mysqlUser;
  meta.password = secrets.mysql;

  // Secrets as files, the way Kubernetes mounts a Secret.
  const dir = mkdtempSync(join(tmpdir(), 'sluice-secrets-'));
  const file = (name: string, value: string) => {
    writeFileSync(join(dir, name), `${value}\n`);
    return join(dir, name);
  };
  const s = stack();
  env = {
    SLUICE_REDIS_URL: '',
    SLUICE_REDIS_URL_FILE: file('redis-url', redisServer.url),
    SLUICE_META_MYSQL_URL: '',
    SLUICE_META_MYSQL_URL_FILE: file('meta-url', meta.toString()),
    SLUICE_ES_API_KEY_FILE: file('es-key', secrets.es),
    SLUICE_KAFKA_BROKERS: process.env.SLUICE_STACK_KAFKA_SASL_BROKERS ?? '127.0.0.1:19094',
    SLUICE_KAFKA_SASL_MECHANISM: 'plain',
    SLUICE_KAFKA_SASL_USERNAME: process.env.SLUICE_STACK_KAFKA_SASL_USER ?? 'sluice',
    SLUICE_KAFKA_SASL_PASSWORD_FILE: file(
      'kafka-pw',
      process.env.SLUICE_STACK_KAFKA_SASL_PASSWORD ?? 'sluice-sasl-test',
    ),
    SLUICE_ZK_DIGEST_FILE: file('zk', `sluice:${secrets.zk}`),
    SLUICE_ADMIN_TOKEN_FILE: file('admin', secrets.admin),
    SLUICE_ES_URL: s.esUrl,
  };
  ingest = await pipeline.start('ingest', 'ingest-secure', env);
  worker = await pipeline.start('worker', 'worker-secure', env);
});

after(async () => {
  await pipeline?.close();
  await redisServer?.stop();
  const admin = await mysql.createConnection(stack().metaMysqlUrl);
  await admin.query(`DROP USER IF EXISTS '${mysqlUser}'@'127.0.0.1'`);
  await admin.end();
});

test('changes flow through authenticated connections (Redis password, MySQL user, Kafka SASL, API key)', async () => {
  const db = await pipeline.openSource();
  await db.query('CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))');
  await db.query("INSERT INTO t VALUES (1, 'secret-free')");
  await db.end();
  const [diff] = await pipeline.waitConverged(['t']);
  assert.equal(diff?.docs, 1);
});

test('ZooKeeper nodes of the cluster carry a digest ACL: unreadable without the credentials', async () => {
  const root = clusterRoot(pipeline.env.SLUICE_CLUSTER as string);
  const anonymous = await connectZk();
  try {
    await assert.rejects(
      call<Buffer>((cb) => anonymous.getData(`${root}/assignment`, (error, data) => cb(error, data))),
      (error: zookeeper.Exception) => error.getCode() === zookeeper.Exception.NO_AUTH,
    );
  } finally {
    anonymous.close();
  }
  const authenticated = await connectZk();
  try {
    authenticated.addAuthInfo('digest', Buffer.from(`sluice:${secrets.zk}`));
    const data = await call<Buffer>((cb) =>
      authenticated.getData(`${root}/assignment`, (error, value) => cb(error, value)),
    );
    assert.equal((JSON.parse(data.toString()) as { shards: number }).shards, 16);
    // The cluster's parents stay open, so other clusters can still live under /sluice.
    await call((cb) => authenticated.exists('/sluice', (error, stat) => cb(error, stat)));
  } finally {
    authenticated.close();
  }
});

test('admin actions need the bearer token', async () => {
  const url = `http://127.0.0.1:${worker.httpPort}/admin/recover`;
  assert.equal((await fetch(url, { method: 'POST' })).status, 401);
  assert.equal(
    (await fetch(url, { method: 'POST', headers: { authorization: 'Bearer wrong' } })).status,
    401,
  );
  const ok = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${secrets.admin}` } });
  assert.equal(ok.status, 200);
  assert.equal(((await ok.json()) as { ok: boolean }).ok, true);
  const ingestPause = await fetch(`http://127.0.0.1:${ingest.httpPort}/admin/pause`, { method: 'POST' });
  assert.equal(ingestPause.status, 401);
});

test('no secret appears in logs, errors, /metrics, /status or sluice output', async () => {
  for (const service of [ingest, worker]) {
    for (const path of ['/metrics', '/status', '/health/ready']) {
      outputs.push(await (await serviceGet(service, path)).text());
    }
  }
  const cliEnv = { ...pipeline.env, ...env };
  for (const args of [
    ['config'],
    ['shards'],
    ['shards', '--json'],
    ['dlq', 'list', '--limit', '5'],
    ['recover'],
  ]) {
    const result = await runSluice(args, cliEnv);
    assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    outputs.push(result.stdout, result.stderr);
  }
  // Failures: a wrong Redis password and a wrong SASL password, with the secrets in the URL and env.
  const badRedis = await runSluice(['worker'], {
    ...cliEnv,
    SLUICE_REDIS_URL_FILE: '',
    SLUICE_REDIS_URL: `redis://:${secrets.redis}-x@127.0.0.1:${redisServer.port}`,
  });
  assert.equal(badRedis.code, 3, badRedis.stderr);
  const badKafka = await runSluice(['ingest'], {
    ...cliEnv,
    SLUICE_KAFKA_SASL_PASSWORD_FILE: '',
    SLUICE_KAFKA_SASL_PASSWORD: `${secrets.mysql}-kafka`,
  });
  assert.equal(badKafka.code, 3, badKafka.stderr);
  outputs.push(badRedis.stdout, badRedis.stderr, badKafka.stdout, badKafka.stderr);
  outputs.push(readFileSync(ingest.logFile, 'utf8'), readFileSync(worker.logFile, 'utf8'));

  const text = outputs.join('\n');
  assert.ok(text.length > 10_000, 'enough output was collected to mean something');
  for (const [name, secret] of Object.entries(secrets)) {
    const line = text.split('\n').find((l) => l.includes(secret));
    assert.equal(line, undefined, `the ${name} secret leaked`);
  }
  const sasl = process.env.SLUICE_STACK_KAFKA_SASL_PASSWORD ?? 'sluice-sasl-test';
  assert.equal(
    text.split('\n').find((l) => l.includes(sasl)),
    undefined,
    'the Kafka SASL password leaked',
  );
});
