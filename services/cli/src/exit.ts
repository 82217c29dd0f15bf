// Turning start-up failures into one clear line and an exit code.
import { ConfigError, DependencyError, errorMessage } from '@sluice/core';

export const EXIT = { ok: 0, failure: 1, config: 2, dependency: 3 } as const;

export function describeFailure(error: unknown): { message: string; code: number } {
  if (error instanceof ConfigError) return { message: error.message, code: EXIT.config };
  if (error instanceof DependencyError) return { message: error.message, code: EXIT.dependency };
  return { message: errorMessage(error), code: EXIT.failure };
}
