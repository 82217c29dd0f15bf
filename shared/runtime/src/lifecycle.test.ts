// Lifecycle without leaving the process: its `exit` option records the exit instead, the force timer
// runs on mock.timers, and the signal handlers it installs are called directly (then removed).
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { Lifecycle } from './lifecycle.ts';
import { createLogger } from './logger.ts';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
afterEach(() => mock.timers.reset());

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** Lets every pending promise chain run (nothing here waits on a real timer). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A Lifecycle whose log lines, log flushes and exits land in one ordered list of events. */
function harness(forceExitMs = 1000) {
  const events: string[] = [];
  const lines: Array<{ level: string; msg: string; step?: string; err?: { message: string } }> = [];
  class Sink extends Writable {
    override _write(chunk: Buffer, _encoding: string, done: () => void): void {
      lines.push(JSON.parse(String(chunk)));
      done();
    }

    flush(done: () => void): void {
      events.push('log flushed');
      done();
    }
  }
  const exits: number[] = [];
  const lifecycle = new Lifecycle({
    logger: createLogger('test', 'info', new Sink()),
    forceExitMs,
    exit: (code) => {
      exits.push(code);
      events.push(`exit ${code}`);
    },
  });
  /** A stop step that records when it starts and ends, and waits for `gate` in between. */
  const step = (name: string, gate?: Promise<void>) =>
    lifecycle.onStop(name, async () => {
      events.push(`start ${name}`);
      await gate;
      events.push(`end ${name}`);
    });
  const logged = (level: string) => lines.filter((l) => l.level === level);
  return { lifecycle, events, exits, step, logged };
}

test('a lifecycle starts as starting, running() makes it running, and nothing makes a stopped one run again', async () => {
  const h = harness();
  assert.equal(h.lifecycle.state, 'starting');
  h.lifecycle.running();
  assert.equal(h.lifecycle.state, 'running');
  await h.lifecycle.stop(0);
  assert.equal(h.lifecycle.state, 'stopped');
  h.lifecycle.running();
  assert.equal(h.lifecycle.state, 'stopped');
});

test('stop runs the steps last registered first, each after the one before has finished, then flushes the log and exits', async () => {
  const h = harness();
  const gate = deferred();
  h.step('mysql');
  h.step('redis');
  h.step('http', gate.promise);
  h.lifecycle.running();
  const stopping = h.lifecycle.stop(0);
  await settle();
  assert.equal(h.lifecycle.state, 'draining');
  assert.deepEqual(h.events, ['start http'], 'the next step waits for the one in progress');
  gate.resolve();
  await stopping;
  assert.deepEqual(h.events, [
    'start http',
    'end http',
    'start redis',
    'end redis',
    'start mysql',
    'end mysql',
    'log flushed',
    'exit 0',
  ]);
  assert.equal(h.lifecycle.state, 'stopped');
});

test('a failing step is logged and the steps after it still run; the exit code stays', async () => {
  const h = harness();
  h.step('first registered');
  h.lifecycle.onStop('rejects', async () => {
    throw new Error('close failed');
  });
  h.lifecycle.onStop('throws', () => {
    throw new Error('already closed');
  });
  await h.lifecycle.stop(0);
  assert.deepEqual(h.events, ['start first registered', 'end first registered', 'log flushed', 'exit 0']);
  assert.deepEqual(
    h.logged('warn').map((l) => [l.msg, l.step, l.err?.message]),
    [
      ['stop step failed', 'throws', 'already closed'],
      ['stop step failed', 'rejects', 'close failed'],
    ],
  );
  assert.equal(h.lifecycle.state, 'stopped');
});

test('a fatal stop logs its reason, stays failed and exits with its code', async () => {
  const h = harness();
  h.step('db');
  h.lifecycle.running();
  const stopping = h.lifecycle.stop(2, new Error('lost the database'));
  assert.equal(h.lifecycle.state, 'failed');
  await stopping;
  assert.equal(h.lifecycle.state, 'failed');
  assert.deepEqual(h.exits, [2]);
  assert.deepEqual(
    h.logged('error').map((l) => [l.msg, l.err?.message]),
    [['fatal error: stopping', 'lost the database']],
  );
});

test('stop is done once: a second call returns the same drain and changes nothing', async () => {
  const h = harness();
  h.step('db');
  const first = h.lifecycle.stop(0);
  const second = h.lifecycle.stop(1, new Error('late'));
  assert.equal(second, first);
  await first;
  assert.deepEqual(h.events, ['start db', 'end db', 'log flushed', 'exit 0']);
  assert.equal(h.lifecycle.state, 'stopped');
  assert.deepEqual(h.logged('error'), []);
});

test('a drain longer than forceExitMs exits anyway: with 1 after a graceful stop, with the code after a fatal one', async () => {
  for (const [code, forced] of [
    [0, 1],
    [3, 3],
  ] as const) {
    const h = harness(5000);
    h.step('stuck', new Promise(() => {}));
    void h.lifecycle.stop(code);
    await settle();
    mock.timers.tick(4999);
    assert.deepEqual(h.exits, [], 'not before the bound');
    mock.timers.tick(1);
    assert.deepEqual(h.exits, [forced]);
    assert.deepEqual(
      h.logged('error').map((l) => l.msg),
      ['drain took too long: exiting'],
    );
  }
});

test('a drain that finishes in time exits once, without the forced exit later', async () => {
  const h = harness(5000);
  h.step('db');
  await h.lifecycle.stop(0);
  mock.timers.tick(10_000);
  assert.deepEqual(h.exits, [0]);
  assert.deepEqual(h.logged('error'), []);
});

test('SIGTERM or SIGINT starts a graceful drain; a second signal during it exits at once with 130', async () => {
  for (const [first, second] of [
    ['SIGTERM', 'SIGINT'],
    ['SIGINT', 'SIGTERM'],
  ] as const) {
    const before = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
    const added = (signal: NodeJS.Signals & keyof typeof before) =>
      process.listeners(signal).filter((l) => !before[signal].includes(l));
    const deliver = (signal: keyof typeof before) => {
      for (const l of added(signal)) (l as (s: NodeJS.Signals) => void)(signal);
    };
    const h = harness();
    h.lifecycle.installSignalHandlers();
    try {
      assert.equal(added('SIGTERM').length, 1);
      assert.equal(added('SIGINT').length, 1);
      const gate = deferred();
      h.step('kafka', gate.promise);
      h.lifecycle.running();
      deliver(first);
      assert.equal(h.lifecycle.state, 'draining');
      await settle();
      assert.deepEqual(h.exits, []);
      deliver(second);
      assert.deepEqual(h.exits, [130], 'the second signal does not wait for the drain');
      gate.resolve();
      await settle();
      assert.deepEqual(h.events, ['start kafka', 'exit 130', 'end kafka', 'log flushed', 'exit 0']);
    } finally {
      for (const signal of ['SIGTERM', 'SIGINT'] as const)
        for (const l of added(signal)) process.removeListener(signal, l);
    }
  }
});
