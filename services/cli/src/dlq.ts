// `sluice dlq list | replay`: dead letters, the messages and records Sluice could not process.
import { BackupRepository, DeadLetterRepository } from '@sluice/backup';
import { loadMapping } from '@sluice/config';
import { bufferOn, CloseList, openBufferRedis, openMetadata } from '@sluice/wiring';
import type { Command } from 'commander';
import { printResult, settingsOf } from './context.ts';
import { EXIT } from './exit.ts';
import { Progress } from './progress.ts';
import { type ReplayOutcome, replayDeadLetter, replayPending } from './replay.ts';

export function registerDlqCommands(program: Command): void {
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
      const opened = new CloseList();
      try {
        const deadLetters = new DeadLetterRepository(await openMetadata(settingsOf(command), opened));
        const entries = await deadLetters.list({
          ...(options.reason ? { reason: options.reason } : {}),
          ...(options.stage ? { stage: options.stage } : {}),
          pendingOnly: !!options.pending,
          ...(options.after ? { afterId: Number(options.after) } : {}),
          limit: Number(options.limit),
        });
        const counts = await deadLetters.count();
        printResult(
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
        await opened.close();
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
        const settings = settingsOf(command);
        const opened = new CloseList();
        try {
          const pool = await openMetadata(settings, opened);
          const deadLetters = new DeadLetterRepository(pool);
          const redis = await openBufferRedis(settings, opened, { name: 'cli', writes: true });
          const ctx = {
            buffer: bufferOn(redis, settings),
            backup: new BackupRepository(pool),
            deadLetters,
            mapping: loadMapping(settings.mappingFile, settings.esIndexPrefix),
            shards: settings.shards,
            generation: settings.sourceGeneration,
            maxRowBytes: settings.maxRowBytes,
          };
          let outcomes: ReplayOutcome[] = [];
          if (options.id) {
            for (const id of options.id) {
              const entry = await deadLetters.get(Number(id));
              if (entry) outcomes.push(await replayDeadLetter(ctx, entry));
            }
            await deadLetters.markReplayed(outcomes.filter((o) => o.ok).map((o) => o.id));
          } else {
            const total = [...(await deadLetters.count()).entries()]
              .filter(([reason]) => !options.reason || reason === options.reason)
              .reduce((sum, [, n]) => sum + n, 0);
            const progress = options.json ? undefined : new Progress();
            const line = (done: number) => ({ label: 'dlq replay', done, total, unit: 'entries' });
            outcomes = await replayPending(deadLetters, (entry) => replayDeadLetter(ctx, entry), {
              ...(options.reason ? { reason: options.reason } : {}),
              onPage: (done) => progress?.update(line(done)),
            });
            progress?.done(line(outcomes.length));
          }
          const ok = outcomes.filter((o) => o.ok).length;
          printResult(!!options.json, { replayed: ok, failed: outcomes.length - ok, outcomes }, () =>
            [
              ...outcomes.map((o) => `#${o.id} ${o.ok ? 'replayed' : 'FAILED'}: ${o.detail}`),
              `${ok} replayed, ${outcomes.length - ok} failed`,
            ].join('\n'),
          );
          if (outcomes.length - ok > 0) process.exitCode = EXIT.negative;
        } finally {
          await opened.close();
        }
      },
    );
}
