// The commands of `sluice` and where each is defined.
import type { Command } from 'commander';

export type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when that command runs (its clients — Kafka, ZooKeeper, BullMQ…
 * — are loaded with it: `sluice check` holds less memory and starts sooner than if every command's
 * were). Help and an unknown command load them all.
 */
export const COMMANDS: Record<string, () => Promise<Register>> = {
  ingest: async () => (await import('./services.ts')).registerServiceCommands,
  worker: async () => (await import('./services.ts')).registerServiceCommands,
  relay: async () => (await import('./services.ts')).registerServiceCommands,
  serve: async () => (await import('./services.ts')).registerServiceCommands,
  recover: async () => (await import('./recover.ts')).registerRecoverCommand,
  dlq: async () => (await import('./dlq.ts')).registerDlqCommands,
  config: async () => (await import('./config-command.ts')).registerConfigCommand,
  check: async () => (await import('./check.ts')).registerCheckCommand,
  backfill: async () => (await import('./backfill.ts')).registerBackfillCommand,
  repair: async () => (await import('./repair.ts')).registerRepairCommand,
  reindex: async () => (await import('./reindex.ts')).registerReindexCommand,
  loadtest: async () => (await import('./loadtest.ts')).registerLoadtestCommand,
  shards: async () => (await import('./shards.ts')).registerShardsCommand,
  ui: async () => (await import('./ui.ts')).registerUiCommand,
};

/** The command named on the command line: the first argument that is not a global option. */
export function commandOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '-c' || arg === '--config') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}
