// `sluice config`: the effective settings (secrets hidden), every setting, or the settings reference.
import { describeSettings, renderSettingsReference, SETTINGS } from '@sluice/config';
import type { Command } from 'commander';
import { settingsOf } from './context.ts';

export function registerConfigCommand(program: Command): void {
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
