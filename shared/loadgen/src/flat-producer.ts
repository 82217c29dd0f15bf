// Produces a generator's flat messages to Kafka at a target rate (or as fast as Kafka takes them):
// one send in flight at a time through an idempotent producer, so each partition holds the
// generator's messages in the order it made them (the order of each row's changes).
import { CompressionTypes, Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import type { FlatMessageGenerator } from './flat.ts';

export interface FlatProduceOptions {
  brokers: string[];
  topic: string;
  generator: FlatMessageGenerator;
  /** Messages to produce in all. */
  messages: number;
  /** Messages per second (unbounded when absent). */
  ratePerSecond?: number;
  /** With a rate: seconds over which the rate climbs from 0 to it (a ramp). */
  rampSeconds?: number;
  /** Messages per send at most. Default 1000. */
  batch?: number;
  clientId?: string;
  /** kafkajs's ssl and sasl options (config/security.ts kafkaSecurity). */
  security?: { ssl?: unknown; sasl?: unknown };
  signal?: AbortSignal;
  onProgress?: (done: number) => void;
}

export interface FlatProduceStats {
  messages: number;
  seconds: number;
  perSecond: number;
  byType: Record<'INSERT' | 'UPDATE' | 'DELETE', number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Messages due `t` seconds in: the rate's integral, climbing linearly over the ramp. */
export function dueBy(t: number, options: { ratePerSecond?: number; rampSeconds?: number }): number {
  const rate = options.ratePerSecond ?? Number.POSITIVE_INFINITY;
  const ramp = options.rampSeconds ?? 0;
  if (ramp <= 0 || t >= ramp) return rate * (t - ramp / 2);
  return (rate * t * t) / (2 * ramp);
}

/** The number of partitions of a topic (the generator hashes tables over them). */
export async function topicPartitions(
  options: Pick<FlatProduceOptions, 'brokers' | 'topic' | 'security' | 'clientId'>,
): Promise<number> {
  const kafka = new Kafka({
    clientId: options.clientId ?? 'sluice-loadgen',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    ...(options.security as Pick<KafkaConfig, 'ssl' | 'sasl'>),
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const metadata = await admin.fetchTopicMetadata({ topics: [options.topic] });
    const partitions = metadata.topics[0]?.partitions.length ?? 0;
    if (partitions === 0) throw new Error(`topic ${options.topic} has no partitions`);
    return partitions;
  } finally {
    await admin.disconnect();
  }
}

export async function produceFlat(options: FlatProduceOptions): Promise<FlatProduceStats> {
  const kafka = new Kafka({
    clientId: options.clientId ?? 'sluice-loadgen',
    brokers: options.brokers,
    logLevel: logLevel.NOTHING,
    ...(options.security as Pick<KafkaConfig, 'ssl' | 'sasl'>),
  });
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const byType = { INSERT: 0, UPDATE: 0, DELETE: 0 };
  const batch = options.batch ?? 1000;
  const started = performance.now();
  let done = 0;
  try {
    while (done < options.messages && !options.signal?.aborted) {
      let want = Math.min(batch, options.messages - done);
      if (options.ratePerSecond) {
        const due = Math.floor(dueBy((performance.now() - started) / 1000, options)) - done;
        if (due <= 0) {
          await sleep(Math.max(1, Math.min(50, 1000 / options.ratePerSecond)));
          continue;
        }
        want = Math.min(want, due);
      }
      const messages = Array.from({ length: want }, () => options.generator.next());
      for (const m of messages) byType[m.type]++;
      await producer.send({
        topic: options.topic,
        acks: -1,
        compression: CompressionTypes.None,
        messages: messages.map((m) => ({ partition: m.partition, key: m.key, value: m.value })),
      });
      done += messages.length;
      options.onProgress?.(done);
    }
  } finally {
    await producer.disconnect();
  }
  const seconds = (performance.now() - started) / 1000;
  return { messages: done, seconds, perSecond: done / seconds, byType };
}
