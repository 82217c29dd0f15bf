// Copies Canal's messages of one database from the stack's Kafka topic into a cluster's Redis
// Streams, laid out as sluice relay writes them (shared/source/streams.ts: a table to one stream,
// ids <seq>-0 in order). It stands in for the relay in the redis-stream tests until the relay reads
// Canal's TCP protocol itself; the messages are Canal's own, so the source and ingest see real data.
import { entryId, type StreamLayout, streamKey, streamOfTable } from '@sluice/source';
import type { Redis } from 'ioredis';
import type { Consumer } from 'kafkajs';
import { consumeFromEnd } from './kafka.ts';
import { stack } from './stack.ts';

export class StreamFeeder {
  private consumer: Consumer | undefined;
  private readonly seq = new Map<number, number>();
  fed = 0;

  private readonly redis: Redis;
  private readonly layout: StreamLayout;
  private readonly database: string;

  private constructor(redis: Redis, layout: StreamLayout, database: string) {
    this.redis = redis;
    this.layout = layout;
    this.database = database;
  }

  static async open(redis: Redis, layout: StreamLayout, database: string): Promise<StreamFeeder> {
    const feeder = new StreamFeeder(redis, layout, database);
    await feeder.start(stack().kafkaTopic);
    return feeder;
  }

  private async start(topic: string): Promise<void> {
    // One message at a time, in order: a table's changes keep their binlog order in its stream.
    this.consumer = await consumeFromEnd('feeder', topic, async ({ message }) => {
      const raw = message.value?.toString('utf8') ?? '';
      let parsed: { database?: unknown; table?: unknown; es?: unknown } = {};
      try {
        parsed = JSON.parse(raw) as typeof parsed;
      } catch {
        return;
      }
      if (parsed.database !== this.database) return;
      const stream = streamOfTable(`${this.database}.${String(parsed.table)}`, this.layout.partitions);
      const seq = (this.seq.get(stream) ?? 0) + 1;
      this.seq.set(stream, seq);
      await this.redis.xadd(
        streamKey(this.layout, stream),
        entryId(seq),
        'm',
        raw,
        'pos',
        `${message.offset}`,
        'ts',
        String(parsed.es ?? message.timestamp),
      );
      this.fed++;
    });
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
