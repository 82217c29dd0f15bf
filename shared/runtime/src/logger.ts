// Logging: pino, JSON lines on stdout, child loggers bound to service, shard, table, batch. Anything
// that looks like a credential is redacted before it is written.
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { redactText } from '@sluice/core';
import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

const REDACT = [
  'password',
  '*.password',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'token',
  '*.token',
];

export { redactText };

export function createLogger(service: string, level = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      name: `sluice-${service}`,
      level,
      base: { service, hostname: hostname(), pid: process.pid },
      redact: { paths: REDACT, censor: '***' },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? redactText(arg) : arg));
          method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
      serializers: {
        err: (error: unknown) => {
          const serialized = pino.stdSerializers.err(error as Error);
          if (typeof serialized.message === 'string') serialized.message = redactText(serialized.message);
          if (typeof serialized.stack === 'string') serialized.stack = redactText(serialized.stack);
          // Client errors carry the command that failed (ioredis: AUTH with its password): keep the name only.
          const command = (serialized as { command?: { name?: unknown } }).command;
          if (command && typeof command === 'object')
            (serialized as { command?: unknown }).command = { name: command.name };
          return serialized;
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that keeps its lines in memory (tests, and tools that report what was logged). */
export function memoryLogger(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('test', level, sink), lines };
}
