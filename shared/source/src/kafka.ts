// Kafka as the source of changes. A consumer group with manual commits: a batch's offset is committed
// only after the handler returned, i.e. after the changes are durable in Redis and the backup table.
// A failing handler is retried with backoff while the partition waits (nothing is skipped), and
// consumption can be paused as a whole (backpressure).
import { DependencyError, retry } from '@sluice/core';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type KafkaConfig,
  logLevel,
  type SASLOptions,
} from 'kafkajs';
import type { Logger } from 'pino';
import { handleUntilDone } from './handle.ts';
import type { BatchHandler, ChangeSource, PartitionLag, SourceBatch, SourceMessage } from './source.ts';

export interface KafkaSourceOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
  /** Partitions handled at once. */
  concurrency: number;
  /** Largest number of messages handed to the handler at once. */
  maxBatchMessages: number;
  ssl?: boolean | { ca?: string[] };
  sasl?: SASLOptions;
  sessionTimeoutMs?: number;
  logger: Logger;
  /** Called when the group assignment changes (cached per-partition state should be dropped). */
  onRebalance?: () => void;
}

function kafkaLogCreator(logger: Logger): KafkaConfig['logCreator'] {
  return () =>
    ({ level, log }) => {
      const { message, ...rest } = log;
      const fields = { kafka: rest.logger ?? 'kafkajs', ...rest };
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(fields, message);
      else if (level === logLevel.WARN) logger.warn(fields, message);
      else logger.debug(fields, message);
    };
}

export function kafkaClient(
  options: Pick<KafkaSourceOptions, 'brokers' | 'clientId' | 'ssl' | 'sasl' | 'logger'>,
): Kafka {
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator(options.logger.child({ component: 'kafka' })),
    connectionTimeout: 3000,
    retry: { initialRetryTime: 300, retries: 5, maxRetryTime: 5000 },
    ...(options.ssl ? { ssl: options.ssl } : {}),
    ...(options.sasl ? { sasl: options.sasl } : {}),
  });
}

export class KafkaSource implements ChangeSource {
  private readonly options: KafkaSourceOptions;
  private readonly kafka: Kafka;
  private readonly consumer: Consumer;
  private paused = false;
  private stopping = false;
  private joined = false;
  /** Per partition ("topic:partition"): the write and commit of its slice in flight (pipelined). */
  private readonly chains = new Map<string, Promise<boolean>>();
  /** The partitions the group gave this member at its last join, by topic. */
  private assigned = new Map<string, Set<number>>();

  constructor(options: KafkaSourceOptions) {
    this.options = options;
    this.kafka = kafkaClient(options);
    const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
    this.consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout,
      // Kafka's advice: heartbeats at most a third of the session timeout.
      heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 4 * 1024 * 1024,
      // An idle fetch waits at most this long; stopping waits for the fetch in flight, so this bounds
      // how long a drain takes when nothing arrives (kafkajs' default is 5 s).
      maxWaitTimeInMs: 1000,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000, restartOnFailure: async () => true },
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      this.joined = true;
      this.assigned = new Map(
        Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => [
          topic,
          new Set(partitions),
        ]),
      );
      options.logger.info({ assignment: event.payload.memberAssignment }, 'consumer group joined');
      options.onRebalance?.();
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      options.logger.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
    });
  }

  /** Connects and subscribes; a DependencyError names the brokers when Kafka cannot be reached. */
  async connect(): Promise<void> {
    try {
      await this.consumer.connect();
      const admin = this.kafka.admin();
      await admin.connect();
      try {
        const existing = new Set(await admin.listTopics());
        const missing = this.options.topics.filter((t) => !existing.has(t));
        if (missing.length > 0) throw new Error(`topic(s) ${missing.join(', ')} do not exist`);
        await this.pinStartOffsets(admin);
      } finally {
        await admin.disconnect();
      }
      await this.consumer.subscribe({
        topics: this.options.topics,
        fromBeginning: this.options.fromBeginning,
      });
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      throw new DependencyError('Kafka', this.options.brokers.join(','), error);
    }
  }

  /**
   * A new group starts each partition at its end (or its beginning with fromBeginning), resolved by
   * kafkajs when it first fetches. Until the first commit that position lives only in the member: an
   * ingest that dies before committing would make its replacement resolve "the end" again, later,
   * and skip what came in between. So the start is committed for the group first, while it is empty.
   * A group that starts at the beginning needs none: the beginning resolved again later is the same
   * offset, or one retention moved past (which a committed start would be reset to as well). So the
   * pin, whose kafkajs call (admin.setOffsets) waits about 5 s for a fetch, costs only groups that
   * start at the end.
   */
  private async pinStartOffsets(admin: Admin): Promise<void> {
    const { groupId, fromBeginning, logger } = this.options;
    if (fromBeginning) return;
    for (const topic of this.options.topics) {
      const [committed] = await untilCoordinated('fetch the group offsets', () =>
        admin.fetchOffsets({ groupId, topics: [topic] }),
      );
      const unset = new Set(
        (committed?.partitions ?? []).filter((p) => Number(p.offset) < 0).map((p) => p.partition),
      );
      if (unset.size === 0) continue;
      const partitions = (await admin.fetchTopicOffsets(topic))
        .filter((p) => unset.has(p.partition))
        .map((p) => ({ partition: p.partition, offset: fromBeginning ? p.low : p.high }));
      try {
        await untilCoordinated('commit the start offsets', () =>
          admin.setOffsets({ groupId, topic, partitions }),
        );
        logger.info({ topic, partitions }, 'start offsets committed for the new consumer group');
      } catch (error) {
        // Another member is active: it resolved and will commit the start itself.
        logger.debug({ err: error, topic }, 'start offsets not committed (the group is active)');
      }
    }
  }

  async run(handler: BatchHandler): Promise<void> {
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.concurrency,
      eachBatch: (payload) => this.eachBatch(payload, handler),
    });
  }

  private async eachBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    if (handler.prepare) return this.eachBatchPipelined(payload, handler.prepare);
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    for (const { slice, last } of this.slices(payload)) {
      if (!isRunning() || isStale() || this.paused || this.stopping) return;
      // A slow batch (a large statement, a slow MySQL) must not cost the group membership: keep
      // heartbeating while the handler runs and while it waits to retry (kafkajs only sends one
      // when asked or between fetches).
      const handled = await handleUntilDone(slice, handler, {
        logger: this.options.logger,
        stillOurs: () => isRunning() && !isStale() && !this.stopping,
        keepAlive: heartbeat,
      });
      if (!handled) return;
      resolveOffset(last);
      await this.consumer.commitOffsets([{ topic, partition, offset: String(BigInt(last) + 1n) }]);
      await heartbeat();
    }
  }

  /** The fetched batch in slices of at most maxBatchMessages, each with its last offset. */
  private *slices(payload: EachBatchPayload): Generator<{ slice: SourceBatch; last: string }> {
    const { topic, partition, messages: all } = payload.batch;
    for (let start = 0; start < all.length; start += this.options.maxBatchMessages) {
      const part = all.slice(start, start + this.options.maxBatchMessages);
      const last = part[part.length - 1];
      if (!last) continue;
      const messages: SourceMessage[] = part.map((m) => ({
        offset: m.offset,
        value: m.value,
        timestamp: Number(m.timestamp),
      }));
      yield { slice: { topic, partition, messages }, last: last.offset };
    }
  }

  /**
   * With a handler that prepares: each slice of a partition is prepared (decoded, planned) while the
   * partition's previous slice is still being written, then written once that one is done and
   * committed, so a partition's writes and commits stay in offset order and at most two of its
   * slices are in memory. The offset is resolved (kafkajs fetches on) before the write, and
   * committed only after it: if the write is abandoned (the partition taken away, the source
   * stopping), the group starts again from the committed offset. This batch's call returns once its
   * last slice's write has started; the next batch's preparation overlaps it.
   */
  private async eachBatchPipelined(
    payload: EachBatchPayload,
    prepare: NonNullable<BatchHandler['prepare']>,
  ): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const { topic, partition } = batch;
    const { logger } = this.options;
    const key = `${topic}:${partition}`;
    const stillOurs = () => isRunning() && !isStale() && !this.stopping;
    for (const { slice: sourceBatch, last } of this.slices(payload)) {
      if (!stillOurs() || this.paused) return;
      let apply: (() => Promise<void>) | undefined;
      const prepared = await handleUntilDone(
        sourceBatch,
        async (b) => {
          apply = await prepare(b);
        },
        { logger, stillOurs, keepAlive: heartbeat },
      );
      if (!prepared || !apply) return;
      const previous = this.chains.get(key);
      if (previous && !(await previous)) {
        // the previous slice was not written or not committed: this one waits for the next fetch
        if (this.chains.get(key) === previous) this.chains.delete(key);
        return;
      }
      if (!stillOurs()) return;
      resolveOffset(last);
      const write = apply;
      const step = (async () => {
        const done = await handleUntilDone(sourceBatch, () => write(), {
          logger,
          stillOurs,
          keepAlive: heartbeat,
        });
        // a stopping source still commits what it wrote; a partition taken away does not
        if (!done || isStale()) return false;
        await this.consumer.commitOffsets([{ topic, partition, offset: String(BigInt(last) + 1n) }]);
        await heartbeat().catch(() => undefined);
        return true;
      })().catch((error: unknown) => {
        logger.warn({ err: error, topic, partition }, 'offset commit failed: the batch is read again');
        return false;
      });
      this.chains.set(key, step);
    }
  }

  /**
   * Messages behind the end of each partition this member holds, from the group's committed offsets
   * (so it also counts what waits while consumption is paused). Each partition is held by one member,
   * so the lags the members report add up to the group's: none is counted twice. Before the first
   * join: none.
   */
  async lag(): Promise<PartitionLag[]> {
    const all = await this.groupLag();
    return all.filter(({ topic, partition }) => this.assigned.get(topic)?.has(partition) ?? false);
  }

  /** Messages behind the end of every partition of the topics, for the whole group. */
  async groupLag(): Promise<PartitionLag[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const out: PartitionLag[] = [];
      const committed = await admin.fetchOffsets({
        groupId: this.options.groupId,
        topics: this.options.topics,
      });
      for (const topic of this.options.topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const group = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const end of ends) {
          const at = group.find((p) => p.partition === end.partition)?.offset ?? '-1';
          const from = at === '-1' ? BigInt(end.low) : BigInt(at);
          out.push({ topic, partition: end.partition, lag: Math.max(0, Number(BigInt(end.high) - from)) });
        }
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }

  /** Stops fetching from every subscribed topic (backpressure); idempotent. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.consumer.pause(this.options.topics.map((topic) => ({ topic })));
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.consumer.resume(this.options.topics.map((topic) => ({ topic })));
  }

  isPaused(): boolean {
    return this.paused;
  }

  /** Whether the consumer has joined its group (and so has partitions to read, or none to have). */
  hasJoined(): boolean {
    return this.joined;
  }

  /** Finishes the batches in flight (their commits included) and leaves the group. */
  async stop(): Promise<void> {
    this.stopping = true;
    // writes already started finish (a failed one is not tried again) and commit before it stops
    await Promise.all(this.chains.values());
    await this.consumer.stop().catch(() => undefined);
    await this.consumer.disconnect();
  }
}

/**
 * A group call on a broker that is still electing the group's coordinator fails with retriable errors
 * (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE) for a few seconds after the broker starts, longer than
 * kafkajs's own retries wait. Retriable errors are retried for up to about 15 s; others (e.g. "the
 * group has running instances") are thrown at once.
 */
function untilCoordinated<T>(what: string, call: () => Promise<T>): Promise<T> {
  return retry(what, call, {
    attempts: 8,
    baseDelayMs: 500,
    maxDelayMs: 4000,
    shouldRetry: (error) => retriableKafkaError(error),
  });
}

/** kafkajs marks errors `retriable`; when its own retries ran out, the one they ran out on decides. */
export function retriableKafkaError(error: unknown): boolean {
  const e = error as { name?: string; retriable?: boolean; cause?: unknown } | null;
  if (e?.name === 'KafkaJSNumberOfRetriesExceeded') return retriableKafkaError(e.cause);
  return e?.retriable === true;
}
