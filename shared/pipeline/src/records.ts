// One row's state and the three forms it is stored in, in one place (pure):
//
//   buffer entry   "<version>|<sourceTs>|<u|d>|<json>" under "<db>.<table>|<pk>"  (shared/buffer layout)
//   backup row     buffer_backup (shard, table_name, primary_key, version, operation, data, source_ts)
//   dead letter    a flush-stage entry's payload: {tableKey, pk, version, op, sourceTs, document}
//
// Ingest makes the first two from a change, recovery turns a backup row back into a buffer entry, a
// flush dead-letters a buffered record, and `sluice dlq replay` turns that record into the first two
// again. Every form keeps the version, so each way back goes through the compare-by-version upsert.
import type { BackupRow } from '@sluice/backup';
import { type BufferEntry, toEntry } from '@sluice/buffer';
import { opCode, opOfCode, type RowState } from '@sluice/core';

export type { RowState };

/** The buffer entry and the backup row of a state, for a shard. */
export function storedForms(state: RowState, shard: number): { entry: BufferEntry; backup: BackupRow } {
  return {
    entry: toEntry(state, shard, state.json),
    backup: {
      shard,
      tableName: state.tableKey,
      primaryKey: state.pk,
      version: state.version,
      op: opCode(state.op),
      data: state.op === 'delete' ? null : state.json,
      sourceTs: state.sourceTs,
    },
  };
}

/** The state a backup row holds (recovery re-buffers it as is). */
export function stateOfBackupRow(row: BackupRow): RowState {
  const op = opOfCode(row.op);
  return {
    tableKey: row.tableName,
    pk: row.primaryKey,
    version: row.version,
    sourceTs: row.sourceTs,
    op,
    json: op === 'delete' ? '' : (row.data ?? ''),
  };
}

/** The payload stored with a flush-stage dead letter: the record, its document as JSON (not text). */
export function deadLetterRecord(state: RowState): string {
  return JSON.stringify({
    tableKey: state.tableKey,
    pk: state.pk,
    version: state.version,
    op: state.op,
    sourceTs: state.sourceTs,
    document: state.json === '' ? null : JSON.parse(state.json),
  });
}

/** The state stored by `deadLetterRecord`; throws when the payload is not one. */
export function parseDeadLetterRecord(payload: Buffer | string | null): RowState {
  const text = payload === null ? '' : payload.toString();
  let stored: Record<string, unknown>;
  try {
    stored = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error('the stored record is not JSON');
  }
  const { tableKey, pk, version, op, sourceTs, document } = stored ?? {};
  if (
    typeof tableKey !== 'string' ||
    typeof pk !== 'string' ||
    !Number.isSafeInteger(version) ||
    !Number.isFinite(sourceTs) ||
    (op !== 'upsert' && op !== 'delete')
  ) {
    throw new Error('the stored record lacks its table, key, version, time or operation');
  }
  return {
    tableKey,
    pk,
    version: version as number,
    sourceTs: sourceTs as number,
    op,
    json: op === 'delete' ? '' : JSON.stringify(document ?? null),
  };
}
