// A lease in Redis: a key holding its holder's id with a time to live, taken when free (or renewed
// when already held by the same holder) and renewed or released only by its holder
// (compare-and-act scripts). The stream readers hold one per
// stream; the relay holds one per Canal destination.
import type { Cluster, Redis } from 'ioredis';

/** Takes a free lease, or renews it when this holder has it already (e.g. after a Redis restart). */
export const TAKE_LEASE = `local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;
/** Renews the lease only if this holder still has it. */
export const RENEW_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
/** Releases the lease only if this holder still has it. */
export const RELEASE_LEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export async function takeLease(
  redis: Redis | Cluster,
  key: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  return Number(await redis.eval(TAKE_LEASE, 1, key, holder, String(ttlMs))) === 1;
}

/** Who holds the lease now (undefined when nobody). */
export async function leaseHolder(redis: Redis | Cluster, key: string): Promise<string | undefined> {
  return (await redis.get(key)) ?? undefined;
}

export async function renewLease(
  redis: Redis | Cluster,
  key: string,
  holder: string,
  ttlMs: number,
): Promise<boolean> {
  return Number(await redis.eval(RENEW_LEASE, 1, key, holder, String(ttlMs))) === 1;
}

export async function releaseLease(redis: Redis | Cluster, key: string, holder: string): Promise<void> {
  await redis.eval(RELEASE_LEASE, 1, key, holder);
}
