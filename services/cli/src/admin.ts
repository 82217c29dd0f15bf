// Operator commands: recover, dlq list | replay, config.

import { BackupRepository, DeadLetterRepository, migrate, openPool, type Pool } from '@sluice/backup';
import { openRedis, RedisBuffer } from '@sluice/buffer';
import {
  describeSettings,
  loadMapping,
  mysqlSecurity,
  redisSecurity,
  renderSettingsReference,
  SETTINGS,
  type SettingValues,
} from '@sluice/config';
import { createLogger } from '@sluice/runtime';
import { Recovery } from '@sluice/worker';
import type { Command } from 'commander';
import { settingsOf } from './context.ts';
import { type ReplayOutcome, replayDeadLetter } from './replay.ts';

interface Tools {
  settings: SettingValues;
  pool: Pool;
  /** Only for commands that asked for Redis. */
  buffer: RedisBuffer;
  backup: BackupRepository;
  deadLetters: DeadLetterRepository;
  close(): Promise<void>;
}

async function tools(command: Command, needRedis = true): Promise<Tools> {
  const settings = settingsOf(command);
  const pool = await openPool(settings.metaMysqlUrl, mysqlSecurity(settings));
  await migrate(pool);
  const redis = needRedis
    ? await openRedis(settings.redisUrl, { connectionName: 'sluice-cli', ...redisSecurity(settings) })
    : undefined;
  const buffer = redis
    ? new RedisBuffer(redis, {
        prefix: settings.redisPrefix,
        cluster: settings.cluster,
        shards: settings.shards,
      })
    : undefined;
  return {
    settings,
    pool,
    get buffer(): RedisBuffer {
      if (!buffer) throw new Error('this command was not given a Redis connection');
      return buffer;
    },
    backup: new BackupRepository(pool),
    deadLetters: new DeadLetterRepository(pool),
    close: async () => {
      if (redis) await redis.quit();
      await pool.end();
    },
  };
}

function print(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}

export function registerAdminCommands(program: Command): void {
  program
    .command('recover')
    .description('re-buffer every backup row not yet synced (compare-by-version: never replaces newer data)')
    .option('--shard <n...>', 'only these shards')
    .option('--json', 'machine-readable output')
    .action(async (options: { shard?: string[]; json?: boolean }, command: Command) => {
      const t = await tools(command);
      try {
        const shards = options.shard?.map(Number) ?? Array.from({ length: t.settings.shards }, (_, i) => i);
        const recovery = new Recovery(t.buffer, t.backup, createLogger('cli', 'warn', process.stderr));
        const result = await recovery.recoverShards(shards);
        print(
          !!options.json,
          result,
          () => `scanned ${result.scanned} unsynced backup rows, re-buffered ${result.rebuffered}`,
        );
      } finally {
        await t.close();
      }
    });

  const dlq = program
    .command('dlq')
    .description('dead letters: messages and records Sluice could not process');
  dlq
    .command('list')
    .description('list dead letters (oldest first)')
    .option('--reason <reason>', 'only this reason')
    .option('--stage <stage>', 'ingest or flush')
    .option('--pending', 'only entries never replayed')
    .option('--after <id>', 'entries after this id')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'machine-readable output (payload as base64)')
    .action(async (options, command: Command) => {
      const t = await tools(command, false);
      try {
        const entries = await t.deadLetters.list({
          ...(options.reason ? { reason: options.reason } : {}),
          ...(options.stage ? { stage: options.stage } : {}),
          pendingOnly: !!options.pending,
          ...(options.after ? { afterId: Number(options.after) } : {}),
          limit: Number(options.limit),
        });
        const counts = await t.deadLetters.count();
        print(
          !!options.json,
          {
            pendingByReason: Object.fromEntries(counts),
            entries: entries.map((e) => ({ ...e, payload: e.payload?.toString('base64') ?? null })),
          },
          () => {
            const lines = entries.map((e) => {
              const where =
                e.topic !== undefined
                  ? `${e.topic}[${e.partition}]@${e.offset}`
                  : `${e.tableName}|${e.primaryKey}`;
              const replayed = e.replayCount > 0 ? ` (replayed ${e.replayCount}×)` : '';
              return `#${e.id}  ${new Date(e.createdTime).toISOString()}  ${e.stage.padEnd(6)}  ${e.reason.padEnd(22)} ${where}${replayed}\n      ${e.detail.slice(0, 200)}`;
            });
            const summary = [...counts].map(([reason, n]) => `${reason}: ${n}`).join(', ') || 'none';
            return `${lines.join('\n') || '(no dead letters)'}\npending by reason: ${summary}`;
          },
        );
      } finally {
        await t.close();
      }
    });
  dlq
    .command('replay')
    .description('process dead letters again (after fixing the mapping or the data); failures stay listed')
    .option('--id <id...>', 'these entries')
    .option('--all', 'every entry never replayed')
    .option('--reason <reason>', 'with --all: only this reason')
    .option('--json', 'machine-readable output')
    .action(
      async (
        options: { id?: string[]; all?: boolean; reason?: string; json?: boolean },
        command: Command,
      ) => {
        if (!options.id && !options.all) throw new Error('dlq replay needs --id <id...> or --all');
        const t = await tools(command);
        try {
          const entries = options.id
            ? (await Promise.all(options.id.map((id) => t.deadLetters.get(Number(id))))).filter(
                (e) => e !== undefined,
              )
            : await t.deadLetters.list({
                pendingOnly: true,
                limit: 10_000,
                ...(options.reason ? { reason: options.reason } : {}),
              });
          const ctx = {
            buffer: t.buffer,
            backup: t.backup,
            deadLetters: t.deadLetters,
            mapping: loadMapping(t.settings.mappingFile, t.settings.esIndexPrefix),
            shards: t.settings.shards,
            generation: t.settings.sourceGeneration,
            maxRowBytes: t.settings.maxRowBytes,
          };
          const outcomes: ReplayOutcome[] = [];
          for (const entry of entries) outcomes.push(await replayDeadLetter(ctx, entry));
          await t.deadLetters.markReplayed(outcomes.filter((o) => o.ok).map((o) => o.id));
          const ok = outcomes.filter((o) => o.ok).length;
          print(!!options.json, { replayed: ok, failed: outcomes.length - ok, outcomes }, () =>
            [
              ...outcomes.map((o) => `#${o.id} ${o.ok ? 'replayed' : 'FAILED'}: ${o.detail}`),
              `${ok} replayed, ${outcomes.length - ok} failed`,
            ].join('\n'),
          );
          if (outcomes.length - ok > 0) process.exitCode = 1;
        } finally {
          await t.close();
        }
      },
    );

  program
    .command('config')
    .description(
      'print the effective settings (secrets hidden) or, with --list, every setting and its variable',
    )
    .option('--list', 'every setting with its environment variable, file key, default and meaning')
    .option('--markdown', 'the settings reference as Markdown (docs/configuration.md)')
    .action((options: { list?: boolean; markdown?: boolean }, command: Command) => {
      if (options.markdown) {
        process.stdout.write(renderSettingsReference());
        return;
      }
      if (options.list) {
        for (const spec of Object.values(SETTINGS)) {
          const fallback =
            spec.default === undefined ? '(required or optional)' : JSON.stringify(spec.default);
          process.stdout.write(
            `${spec.env.padEnd(30)} ${spec.key.padEnd(30)} ${fallback}\n    ${spec.doc}\n`,
          );
        }
        return;
      }
      process.stdout.write(`${JSON.stringify(describeSettings(settingsOf(command)), null, 2)}\n`);
    });
}
