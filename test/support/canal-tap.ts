// Listens to the Canal topic from its current end: everything published after `open()` is collected.
import { kafkaClient } from './kafka.ts';
import { stack } from './stack.ts';
import { uniqueName, waitFor } from './wait.ts';

export interface TappedMessage {
  partition: number;
  offset: string;
  raw: string;
  json: Record<string, unknown>;
}

export class CanalTap {
  readonly messages: TappedMessage[] = [];
  private readonly kafka = kafkaClient('sluice-test-tap');
  private readonly consumer = this.kafka.consumer({ groupId: uniqueName('tap'), sessionTimeout: 10_000 });

  static async open(topic = stack().kafkaTopic): Promise<CanalTap> {
    const tap = new CanalTap();
    await tap.start(topic);
    return tap;
  }

  private async start(topic: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    await admin.disconnect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [topic], fromBeginning: false });
    let assigned = false;
    this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
      for (const end of ends) this.consumer.seek({ topic, partition: end.partition, offset: end.offset });
      assigned = true;
    });
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        const raw = message.value?.toString('utf8') ?? '';
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          json = {};
        }
        this.messages.push({ partition, offset: message.offset, raw, json });
      },
    });
    await waitFor('the tap to join its group', () => (assigned ? true : undefined), { timeoutMs: 30_000 });
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
    await this.consumer.disconnect();
  }
}
