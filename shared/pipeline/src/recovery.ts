// Recovery: re-buffers every backup row still marked unsynced, through the same compare-by-version
// upsert as ingest, so an older copy never replaces a newer buffered one. Runs when a worker gains a
// shard, when Redis is seen to have restarted (its run_id changed: an empty buffer), periodically as
// a safety net, and on demand (`sluice recover`).
import type { BackupRepository } from '@sluice/backup';
import { type BufferWriter, toEntry } from '@sluice/buffer';
import type { Logger } from '@sluice/runtime';
import { stateOfBackupRow } from './records.ts';

export interface RecoveryResult {
  scanned: number;
  rebuffered: number;
}

export class Recovery {
  private readonly buffer: BufferWriter;
  private readonly backup: Pick<BackupRepository, 'listUnsynced'>;
  private readonly logger: Logger;
  private readonly pageSize: number;

  constructor(
    buffer: BufferWriter,
    backup: Pick<BackupRepository, 'listUnsynced'>,
    logger: Logger,
    pageSize = 1000,
  ) {
    this.buffer = buffer;
    this.backup = backup;
    this.logger = logger;
    this.pageSize = pageSize;
  }

  async recoverShard(shard: number): Promise<RecoveryResult> {
    const result: RecoveryResult = { scanned: 0, rebuffered: 0 };
    let after: { tableName: string; primaryKey: string } | undefined;
    for (;;) {
      const rows = await this.backup.listUnsynced(shard, this.pageSize, after);
      if (rows.length === 0) break;
      result.scanned += rows.length;
      const upserted = await this.buffer.upsert(
        rows.map((row) => {
          const state = stateOfBackupRow(row);
          return toEntry(state, shard, state.json);
        }),
      );
      result.rebuffered += upserted.inserted + upserted.replaced;
      const last = rows[rows.length - 1];
      if (!last || rows.length < this.pageSize) break;
      after = { tableName: last.tableName, primaryKey: last.primaryKey };
    }
    if (result.rebuffered > 0) {
      this.logger.warn({ shard, ...result }, 'recovered unsynced rows from the backup into the buffer');
    }
    return result;
  }

  /** The shards one after another; `onShard` hears the running totals after each. */
  async recoverShards(
    shards: Iterable<number>,
    onShard?: (shard: number, total: RecoveryResult) => void,
  ): Promise<RecoveryResult> {
    const total: RecoveryResult = { scanned: 0, rebuffered: 0 };
    for (const shard of shards) {
      const r = await this.recoverShard(shard);
      total.scanned += r.scanned;
      total.rebuffered += r.rebuffered;
      onShard?.(shard, { ...total });
    }
    return total;
  }
}
