// `sluice` — the command line of Sluice. Settings come from SLUICE_* variables and/or --config.
import { SLUICE_VERSION } from '@sluice/runtime/version';
import { Command, Option } from 'commander';
import { COMMANDS, commandOf, type Register } from './commands.ts';
import { describeFailure } from './exit.ts';

const program = new Command('sluice')
  .description('Keeps Elasticsearch in step with MySQL (Canal → Kafka → Redis buffer → Elasticsearch).')
  .version(SLUICE_VERSION, '-V, --version', 'print the version')
  .addOption(new Option('-c, --config <file>', 'YAML settings file (SLUICE_* variables win over it)'))
  .showHelpAfterError()
  .enablePositionalOptions()
  // Usage errors are thrown (and given exit code 2 below) instead of ending the process with 1.
  .exitOverride();

const named = commandOf(process.argv.slice(2));
const chosen = named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
const registers = new Set(
  await Promise.all(chosen.map((name) => (COMMANDS[name] as () => Promise<Register>)())),
);
for (const register of registers) register(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const { message, code } = describeFailure(error);
  if (message) process.stderr.write(`sluice: ${message}\n`);
  process.exit(code);
}
