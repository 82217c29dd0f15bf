// The dead-letter store: every message or record Sluice could not process, with its reason and
// origin, listable and replayable (`sluice dlq list | replay`).
import type { DeadLetterReason } from '@sluice/core';
import type { Pool, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { chunkByBytes, STATEMENT_BYTES } from './chunk.ts';

export interface DeadLetterInput {
  stage: 'ingest' | 'flush';
  reason: DeadLetterReason;
  detail: string;
  topic?: string;
  partition?: number;
  offset?: string | number;
  tableName?: string;
  primaryKey?: string;
  version?: number;
  /** The raw message (ingest) or the record JSON (flush). */
  payload: Buffer | string | null;
}

export interface DeadLetter extends Omit<DeadLetterInput, 'payload' | 'offset'> {
  id: number;
  createdTime: number;
  offset?: number;
  payload: Buffer | null;
  replayCount: number;
  replayedTime: number | null;
}

export interface DeadLetterFilter {
  reason?: string;
  stage?: 'ingest' | 'flush';
  /** Only entries never replayed. */
  pendingOnly?: boolean;
  afterId?: number;
  limit?: number;
}

/** What the pipeline needs. */
export interface DeadLetterSink {
  add(entries: readonly DeadLetterInput[]): Promise<void>;
}

const MAX_DETAIL = 4000;
/** Payloads above this are stored cut (and cannot be replayed): a dead letter must always fit. */
export const MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

function toRow(e: DeadLetterInput): { values: Array<string | number | Buffer | null>; bytes: number } {
  let payload =
    e.payload === null ? null : Buffer.isBuffer(e.payload) ? e.payload : Buffer.from(e.payload, 'utf8');
  let detail = e.detail;
  if (payload && payload.length > MAX_PAYLOAD_BYTES) {
    detail = `${detail} [payload of ${payload.length} bytes cut to ${MAX_PAYLOAD_BYTES}: not replayable]`;
    payload = payload.subarray(0, MAX_PAYLOAD_BYTES);
  }
  return {
    values: [
      e.stage,
      e.reason,
      detail.slice(0, MAX_DETAIL),
      e.topic ?? null,
      e.partition ?? null,
      e.offset === undefined ? null : Number(e.offset),
      e.tableName ?? null,
      e.primaryKey ?? null,
      e.version ?? null,
      payload,
    ],
    bytes: (payload?.length ?? 0) + detail.length,
  };
}

export class DeadLetterRepository implements DeadLetterSink {
  private readonly pool: Pool;

  constructor(pool: Pool) {
    this.pool = pool;
  }

  /** Stores entries; a message already stored from the same Kafka position is not stored twice. */
  async add(entries: readonly DeadLetterInput[]): Promise<void> {
    const rows = entries.map(toRow);
    for (const chunk of chunkByBytes(rows, (r) => 300 + r.bytes, STATEMENT_BYTES, 500)) {
      await this.pool.query(
        `INSERT IGNORE INTO dead_letter
         (stage, reason, detail, topic, kafka_partition, kafka_offset, table_name, primary_key, version, payload)
         VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
        chunk.flatMap((r) => r.values),
      );
    }
  }

  async list(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.reason) {
      where.push('reason = ?');
      params.push(filter.reason);
    }
    if (filter.stage) {
      where.push('stage = ?');
      params.push(filter.stage);
    }
    if (filter.pendingOnly) where.push('replay_count = 0');
    if (filter.afterId !== undefined) {
      where.push('id > ?');
      params.push(filter.afterId);
    }
    params.push(filter.limit ?? 100);
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT * FROM dead_letter ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`,
      params,
    );
    return rows.map(toDeadLetter);
  }

  async get(id: number): Promise<DeadLetter | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>('SELECT * FROM dead_letter WHERE id = ?', [id]);
    return rows[0] ? toDeadLetter(rows[0]) : undefined;
  }

  async count(): Promise<Map<string, number>> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT reason, COUNT(*) AS n FROM dead_letter WHERE replay_count = 0 GROUP BY reason',
    );
    return new Map(rows.map((r) => [String(r.reason), Number(r.n)]));
  }

  async markReplayed(ids: readonly number[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [result] = await this.pool.query<ResultSetHeader>(
      'UPDATE dead_letter SET replay_count = replay_count + 1, replayed_time = CURRENT_TIMESTAMP(3) WHERE id IN (?)',
      [ids],
    );
    return result.affectedRows;
  }
}

function toDeadLetter(r: RowDataPacket): DeadLetter {
  return {
    id: Number(r.id),
    createdTime: new Date(r.created_time).getTime(),
    stage: r.stage,
    reason: r.reason,
    detail: String(r.detail),
    ...(r.topic === null ? {} : { topic: String(r.topic) }),
    ...(r.kafka_partition === null ? {} : { partition: Number(r.kafka_partition) }),
    ...(r.kafka_offset === null ? {} : { offset: Number(r.kafka_offset) }),
    ...(r.table_name === null ? {} : { tableName: String(r.table_name) }),
    ...(r.primary_key === null ? {} : { primaryKey: String(r.primary_key) }),
    ...(r.version === null ? {} : { version: Number(r.version) }),
    payload: r.payload === null ? null : Buffer.from(r.payload),
    replayCount: Number(r.replay_count),
    replayedTime: r.replayed_time === null ? null : new Date(r.replayed_time).getTime(),
  };
}
