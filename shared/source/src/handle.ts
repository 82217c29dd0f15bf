// Handing a batch to the handler until it succeeds, as every source does: a failing handler is
// retried with backoff while its partition (or stream) waits, so nothing is skipped, until the
// partition is taken away or the source stops.
import { backoffDelay, errorMessage } from '@sluice/core';
import type { Logger } from 'pino';
import type { BatchHandler, SourceBatch } from './source.ts';

export interface HandleOptions {
  logger: Logger;
  /** Whether the batch is still this process's to handle (partition held, source running). */
  stillOurs: () => boolean;
  /** Called every second while the handler runs or waits (a group heartbeat), if given. */
  keepAlive?: () => Promise<void>;
}

/** True once the handler succeeded; false when the batch stopped being ours first. */
export async function handleUntilDone(
  batch: SourceBatch,
  handler: BatchHandler,
  { logger, stillOurs, keepAlive }: HandleOptions,
): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    const beat = keepAlive ? setInterval(() => void keepAlive().catch(() => undefined), 1000) : undefined;
    try {
      await handler(batch);
      return true;
    } catch (error) {
      const delay = backoffDelay(attempt, 200, 10_000, Math.random);
      logger.error(
        { err: error, topic: batch.topic, partition: batch.partition, attempt, retryInMs: delay },
        `batch failed, retrying: ${errorMessage(error)}`,
      );
      const until = Date.now() + delay;
      while (Date.now() < until) {
        if (!stillOurs()) return false;
        await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(1000, until - Date.now()))));
      }
      if (!stillOurs()) return false;
    } finally {
      if (beat) clearInterval(beat);
    }
  }
}
