// The end offsets of topics' partitions (the offset the next message will get), read with the admin
// API on one connection kept open: what a re-sync's version is computed from
// (shared/resync/src/rule.ts).
import { DependencyError } from '@sluice/core';
import type { Admin } from 'kafkajs';
import { type KafkaSourceOptions, kafkaClient } from './kafka.ts';

type EndsOptions = Pick<KafkaSourceOptions, 'brokers' | 'clientId' | 'ssl' | 'sasl' | 'logger'>;

export class KafkaPartitionEnds {
  private readonly options: EndsOptions;
  private admin: Promise<Admin> | undefined;

  constructor(options: EndsOptions) {
    this.options = options;
  }

  private connected(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = kafkaClient(this.options).admin();
      await admin.connect();
      return admin;
    })();
    return this.admin;
  }

  async ends(topics: readonly string[]): Promise<Array<{ topic: string; partition: number; end: number }>> {
    try {
      const admin = await this.connected();
      const out: Array<{ topic: string; partition: number; end: number }> = [];
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          out.push({ topic, partition: p.partition, end: Number(p.high) });
        }
      }
      return out;
    } catch (error) {
      // The next call connects again; this connection, if it was made, is let go.
      const failed = this.admin;
      this.admin = undefined;
      failed?.then((admin) => admin.disconnect()).catch(() => undefined);
      throw new DependencyError('Kafka', this.options.brokers.join(','), error);
    }
  }

  /**
   * Publishes `count` Canal QUERY messages, which Sluice (and Canal's other consumers) skip, to move
   * the partition's end on: an empty partition gets a first message (its changes then start at 1),
   * and a repair gets a version above what Elasticsearch holds (shared/resync/src/rule.ts).
   */
  async mark(topic: string, partition: number, count = 1): Promise<void> {
    const producer = kafkaClient(this.options).producer({ allowAutoTopicCreation: false });
    try {
      await producer.connect();
      const now = Date.now();
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: count }, () => ({
          partition,
          value: JSON.stringify({
            type: 'QUERY',
            isDdl: false,
            database: '',
            table: '',
            sql: '/* sluice: a message every consumer skips, so that re-sync versions stay below every change */',
            data: null,
            es: now,
            ts: now,
          }),
        })),
      });
    } catch (error) {
      throw new DependencyError('Kafka', this.options.brokers.join(','), error);
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin) await (await admin.catch(() => undefined))?.disconnect();
  }
}
