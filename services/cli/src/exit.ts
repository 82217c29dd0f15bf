// Exit codes, one meaning each, so that scripts can tell a command's answer from its failure:
//   0  done
//   1  done, and the answer is "no": differences found (check), entries that failed again (dlq replay)
//   2  usage or settings: an unknown option, a missing argument, a bad or missing setting
//   3  a dependency cannot be reached (named with its address)
//   4  the command failed for another reason (the message says why)
import { ConfigError, DependencyError, errorMessage } from '@sluice/core';
import { CommanderError } from 'commander';

export const EXIT = { ok: 0, negative: 1, usage: 2, dependency: 3, failure: 4 } as const;

export function describeFailure(error: unknown): { message: string; code: number } {
  if (error instanceof ConfigError) return { message: error.message, code: EXIT.usage };
  if (error instanceof DependencyError) return { message: error.message, code: EXIT.dependency };
  // Commander has printed its own message (usage errors), or the help (exit code 0).
  if (error instanceof CommanderError)
    return { message: '', code: error.exitCode === 0 ? EXIT.ok : EXIT.usage };
  return { message: errorMessage(error), code: EXIT.failure };
}
