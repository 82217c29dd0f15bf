import assert from 'node:assert/strict';
import { afterEach, beforeEach, mock, test } from 'node:test';
import { memoryLogger } from './logger.ts';
import { Periodic } from './periodic.ts';

beforeEach(() => mock.timers.enable({ apis: ['setInterval'] }));
afterEach(() => mock.timers.reset());

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test('a task runs every interval, never twice at once', async () => {
  const { logger } = memoryLogger();
  const periodic = new Periodic({ logger });
  let running = 0;
  let runs = 0;
  let most = 0;
  let release: () => void = () => undefined;
  periodic.every(100, 'slow', async () => {
    runs++;
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => {
      release = resolve;
    });
    running--;
  });
  mock.timers.tick(100);
  await settle();
  mock.timers.tick(300); // three more ticks while the first run waits
  await settle();
  assert.deepEqual([runs, most], [1, 1]);
  release();
  await settle();
  mock.timers.tick(100);
  await settle();
  assert.equal(runs, 2);
  periodic.stop();
});

test('ticks are skipped while inactive; a failure is logged with the task and the next tick runs', async () => {
  const { logger, lines } = memoryLogger();
  let active = false;
  const periodic = new Periodic({ logger, active: () => active });
  let calls = 0;
  periodic.every(50, 'flaky', async () => {
    calls++;
    if (calls === 1) throw new Error('first run fails');
  });
  mock.timers.tick(150);
  await settle();
  assert.equal(calls, 0);
  active = true;
  mock.timers.tick(50);
  await settle();
  mock.timers.tick(50);
  await settle();
  assert.equal(calls, 2);
  const failure = lines.find((l) => l.msg === 'background task failed');
  assert.equal(failure?.task, 'flaky');
  periodic.stop();
});

test('stop ends every task', async () => {
  const { logger } = memoryLogger();
  const periodic = new Periodic({ logger });
  let calls = 0;
  periodic.every(10, 'a', async () => void calls++);
  periodic.every(20, 'b', async () => void calls++);
  periodic.stop();
  mock.timers.tick(100);
  await settle();
  assert.equal(calls, 0);
});
