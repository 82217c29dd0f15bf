// Where an opened dependency registers its close. A service's Lifecycle is one (it closes on stop,
// last opened first); a one-shot command uses a CloseList and closes it when the command ends.
import { errorMessage } from '@sluice/core';

export interface Closers {
  onStop(name: string, close: () => Promise<void> | void): void;
}

export class CloseList implements Closers {
  private readonly steps: Array<{ name: string; close: () => Promise<void> | void }> = [];

  onStop(name: string, close: () => Promise<void> | void): void {
    this.steps.push({ name, close });
  }

  /** Closes everything, last opened first; every step runs, failures are reported together. */
  async close(): Promise<void> {
    const failures: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.close();
      } catch (error) {
        failures.push(`${step.name}: ${errorMessage(error)}`);
      }
    }
    if (failures.length > 0) throw new Error(`closing failed: ${failures.join('; ')}`);
  }
}
