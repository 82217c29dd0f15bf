// Buffered records → bulk operations, by the mapping (pure).
import type { BufferedRecord } from '@sluice/buffer';
import { type Mapping, splitTableKey } from '@sluice/core';
import type { BulkOp, IndexSpec } from '@sluice/sink';

export interface PlannedOps {
  ops: BulkOp[];
  /** Indices the operations write to, with their template specs. */
  indices: Map<string, IndexSpec>;
  /** Records of tables the mapping now ignores: settled without a write. */
  ignored: BufferedRecord[];
  /** Records of tables the mapping now dead-letters. */
  unmapped: BufferedRecord[];
}

export function planOps(records: readonly BufferedRecord[], mapping: Mapping): PlannedOps {
  const planned: PlannedOps = { ops: [], indices: new Map(), ignored: [], unmapped: [] };
  for (const record of records) {
    const { database, table } = splitTableKey(record.tableKey);
    const route = mapping.route(database, table);
    if (route.action === 'ignore') {
      planned.ignored.push(record);
      continue;
    }
    if (route.action === 'deadletter') {
      planned.unmapped.push(record);
      continue;
    }
    const { index, mappings, settings } = route.mapping;
    if (!planned.indices.has(index)) planned.indices.set(index, { name: index, mappings, settings });
    planned.ops.push({
      ref: record.field,
      index,
      id: record.pk,
      version: record.version,
      op: record.op,
      json: record.json,
    });
  }
  return planned;
}
