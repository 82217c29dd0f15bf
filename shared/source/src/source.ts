// What `sluice ingest` reads changes from: Kafka (kafka.ts) or Redis Streams (redis-stream.ts), each
// a set of ordered partitions whose offsets make the versions (core/version.ts). A batch is one
// partition's messages in offset order; the source marks it consumed (Kafka commit, XACK) only after
// the handler returned, i.e. after the changes are durable in Redis and the backup table.

export interface SourceMessage {
  offset: string;
  value: Buffer | null;
  /** Broker timestamp (ms). */
  timestamp: number;
}

export interface SourceBatch {
  topic: string;
  partition: number;
  messages: SourceMessage[];
}

/**
 * Handles a batch: resolves once its changes are durable. A handler may also offer `prepare`, the
 * part that only computes (decoding, planning): it returns the rest (`apply`, the durable writes,
 * which may be called again after a failure). A source that has it prepares a partition's next
 * batch while the previous one is being written, and applies them strictly in order.
 */
export type BatchHandler = ((batch: SourceBatch) => Promise<void>) & {
  prepare?: (batch: SourceBatch) => Promise<() => Promise<void>>;
};

export interface PartitionLag {
  topic: string;
  partition: number;
  lag: number;
}

export interface ChangeSource {
  connect(): Promise<void>;
  /** Starts consuming; returns once running (batches are handed to the handler from then on). */
  run(handler: BatchHandler): Promise<void>;
  /** Messages behind the end of each partition this process holds (they add up over processes). */
  lag(): Promise<PartitionLag[]>;
  pause(): void;
  resume(): void;
  isPaused(): boolean;
  /** Joined its group (holds its partitions, or knows it has none). */
  hasJoined(): boolean;
  /** Finishes the batch in flight and leaves. */
  stop(): Promise<void>;
}
