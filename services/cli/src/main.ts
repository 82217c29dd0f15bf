// `sluice` — the command line of Sluice. Settings come from SLUICE_* variables and/or --config.
import { Command, Option } from 'commander';
import { registerAdminCommands } from './admin.ts';
import { registerCheckCommand } from './check.ts';
import { describeFailure, EXIT } from './exit.ts';
import { registerLoadtestCommand } from './loadtest.ts';
import { registerServiceCommands } from './services.ts';
import { registerShardsCommand } from './shards.ts';

const program = new Command('sluice')
  .description('Keeps Elasticsearch in step with MySQL (Canal → Kafka → Redis buffer → Elasticsearch).')
  .addOption(new Option('-c, --config <file>', 'YAML settings file (SLUICE_* variables win over it)'))
  .showHelpAfterError()
  .enablePositionalOptions();

registerServiceCommands(program);
registerAdminCommands(program);
registerCheckCommand(program);
registerLoadtestCommand(program);
registerShardsCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const { message, code } = describeFailure(error);
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(code === EXIT.ok ? EXIT.failure : code);
}
