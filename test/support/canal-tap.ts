// Listens to the Canal topic from its current end: everything published after `open()` is collected.
import type { Consumer } from 'kafkajs';
import { consumeFromEnd } from './kafka.ts';
import { stack } from './stack.ts';
import { waitFor } from './wait.ts';

export interface TappedMessage {
  partition: number;
  offset: string;
  raw: string;
  json: Record<string, unknown>;
}

export class CanalTap {
  readonly messages: TappedMessage[] = [];
  private consumer: Consumer | undefined;

  static async open(topic = stack().kafkaTopic): Promise<CanalTap> {
    const tap = new CanalTap();
    tap.consumer = await consumeFromEnd('tap', topic, async ({ partition, message }) => {
      const raw = message.value?.toString('utf8') ?? '';
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        json = {};
      }
      tap.messages.push({ partition, offset: message.offset, raw, json });
    });
    return tap;
  }

  /** Waits until `count` messages match, in arrival order. */
  async waitFor(
    description: string,
    match: (m: TappedMessage) => boolean,
    count = 1,
    timeoutMs = 30_000,
  ): Promise<TappedMessage[]> {
    return waitFor(
      description,
      () => {
        const found = this.messages.filter(match);
        return found.length >= count ? found : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    );
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
