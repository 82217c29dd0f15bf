// `sluice` — the command line of Sluice. Settings come from SLUICE_* variables and/or --config.
import { Command, Option } from 'commander';
import { registerBackfillCommand } from './backfill.ts';
import { registerCheckCommand } from './check.ts';
import { registerConfigCommand } from './config-command.ts';
import { registerDlqCommands } from './dlq.ts';
import { describeFailure, EXIT } from './exit.ts';
import { registerLoadtestCommand } from './loadtest.ts';
import { registerRecoverCommand } from './recover.ts';
import { registerReindexCommand } from './reindex.ts';
import { registerRepairCommand } from './repair.ts';
import { registerServiceCommands } from './services.ts';
import { registerShardsCommand } from './shards.ts';

const program = new Command('sluice')
  .description('Keeps Elasticsearch in step with MySQL (Canal → Kafka → Redis buffer → Elasticsearch).')
  .addOption(new Option('-c, --config <file>', 'YAML settings file (SLUICE_* variables win over it)'))
  .showHelpAfterError()
  .enablePositionalOptions();

registerServiceCommands(program);
registerRecoverCommand(program);
registerDlqCommands(program);
registerConfigCommand(program);
registerCheckCommand(program);
registerBackfillCommand(program);
registerRepairCommand(program);
registerReindexCommand(program);
registerLoadtestCommand(program);
registerShardsCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  const { message, code } = describeFailure(error);
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(code === EXIT.ok ? EXIT.failure : code);
}
