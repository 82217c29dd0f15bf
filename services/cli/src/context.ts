// Shared set-up of CLI commands: settings from --config and the environment, a logger.

import { loadSettings, type SettingName, type SettingValues } from '@sluice/config';
import { createLogger, type Logger } from '@sluice/runtime/logger';
import type { Command } from 'commander';

export function settingsOf(
  command: Command,
  overrides: Partial<Record<SettingName, unknown>> = {},
): SettingValues {
  const configFile = command.optsWithGlobals<{ config?: string }>().config;
  return loadSettings({ ...(configFile ? { configFile } : {}), overrides });
}

export function loggerOf(service: string, settings: SettingValues): Logger {
  return createLogger(service, settings.logLevel);
}

/** Operator commands log warnings only, to stderr (stdout is their output). */
export function cliLogger(): Logger {
  return createLogger('cli', 'warn', process.stderr);
}

/** A command's result: JSON with --json, else its text. */
export function printResult(json: boolean, value: unknown, text: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text()}\n`);
}
