import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger, redactText } from './logger.ts';

test('passwords in URLs are masked', () => {
  assert.equal(redactText('mysql://sluice:s3cret@db:3306/meta'), 'mysql://sluice:***@db:3306/meta');
  assert.equal(
    redactText('see redis://:pw@r:6379 and http://u:p@e:9200/x'),
    'see redis://:***@r:6379 and http://u:***@e:9200/x',
  );
  assert.equal(redactText('no url here'), 'no url here');
});

test('log lines never carry secrets: fields, messages and errors are scrubbed', async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = createLogger('test', 'info', sink);
  logger.info({ password: 'hunter2', es: { apiKey: 'k-123' } }, 'connecting to mysql://a:topsecret@h/db');
  logger.error({ err: new Error('failed for redis://:pw-456@r:1') }, 'boom');
  logger.warn(
    { err: Object.assign(new Error('WRONGPASS'), { command: { name: 'auth', args: ['pw-789'] } }) },
    'redis',
  );
  logger.flush();
  await new Promise((resolve) => setImmediate(resolve));
  const text = lines.join('');
  for (const secret of ['hunter2', 'k-123', 'topsecret', 'pw-456', 'pw-789'])
    assert.ok(!text.includes(secret), `${secret} leaked`);
  assert.match(text, /mysql:\/\/a:\*\*\*@h\/db/);
});

test('every line names the service, the host and the process', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  createLogger('worker', 'info', sink).child({ workerId: 'w-1' }).info('hello');
  const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
  assert.deepEqual(
    [line.service, line.hostname, line.pid, line.workerId],
    ['worker', hostname(), process.pid, 'w-1'],
  );
});
