// A process that takes a lock and works until told otherwise, for the lock tests: a test can freeze
// it (SIGSTOP) past its lease and see what it notices when it runs again. Prints one JSON line per
// event: {"event":"acquired","token":N}, {"event":"lost","token":N,"error":"…"}.
//   node test/support/lock-holder.ts <redis url> <key> <lease ms>
import { LockService } from '@sluice/lock';
import { Redis } from 'ioredis';

const [url, key, leaseMs] = process.argv.slice(2);
const redis = new Redis(url as string);
const locks = new LockService(redis);
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

await locks
  .withLock(
    key as string,
    async (lease) => {
      say({ event: 'acquired', token: lease.token });
      await new Promise<void>((resolve) => {
        lease.signal.addEventListener('abort', () => {
          say({ event: 'lost', token: lease.token, error: String((lease.signal.reason as Error).name) });
          resolve();
        });
      });
    },
    { waitMs: 5000, leaseMs: Number(leaseMs) },
  )
  .catch((error: unknown) => say({ event: 'error', error: String(error) }));
redis.disconnect();
