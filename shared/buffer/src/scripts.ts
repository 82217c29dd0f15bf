// Loads the Lua scripts (one file each, see lua/) and maps their replies. Every Redis state change of
// the buffer goes through one of these; the return shapes are decoded here and nowhere else.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

export type RedisLike = Redis | Cluster;

const LUA = {
  upsertIfNewer: { file: 'upsert-if-newer-2.lua', keys: 2 },
  takeDue: { file: 'take-due-3.lua', keys: 3 },
  ackIfVersion: { file: 'ack-if-version-4.lua', keys: 4 },
  retryLater: { file: 'retry-later-4.lua', keys: 4 },
  releaseDelayed: { file: 'release-delayed-2.lua', keys: 2 },
} as const;

export type ScriptName = keyof typeof LUA;

const sources = new Map<ScriptName, string>();

export function scriptSource(name: ScriptName): string {
  let text = sources.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./lua/${LUA[name].file}`, import.meta.url), 'utf8');
    sources.set(name, text);
  }
  return text;
}

type Command = (...args: Array<string | number>) => Promise<unknown>;

/** Registers the scripts on a client (EVALSHA with EVAL fallback, handled by ioredis). */
export function installScripts(redis: RedisLike): Record<ScriptName, Command> {
  const commands = {} as Record<ScriptName, Command>;
  for (const [name, spec] of Object.entries(LUA) as Array<[ScriptName, (typeof LUA)[ScriptName]]>) {
    const command = `sluice_${name}`;
    if (!(command in redis))
      redis.defineCommand(command, { numberOfKeys: spec.keys, lua: scriptSource(name) });
    const fn = (redis as unknown as Record<string, Command>)[command];
    if (!fn) throw new Error(`could not register the Lua script ${spec.file}`);
    commands[name] = fn.bind(redis);
  }
  return commands;
}

/** A reply of `count` integers, or an error naming the script. */
export function numbers(reply: unknown, count: number, what: string): number[] {
  if (!Array.isArray(reply) || reply.length !== count) {
    throw new Error(`unexpected reply from ${what}: ${String(reply)}`);
  }
  return reply.map(Number);
}
