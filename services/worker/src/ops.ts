// Buffered records → bulk operations, by the mapping (pure). While an alias is being rebuilt (sluice
// reindex), each of its records is written twice: to the alias and, as a copy, to the new index.
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
  /** The copies written to a reindex's target (same ref as the record's own operation). */
  copies: Set<BulkOp>;
}

export function planOps(
  records: readonly BufferedRecord[],
  mapping: Mapping,
  /** Alias → the index being rebuilt for it. */
  rebuilding: ReadonlyMap<string, string> = new Map(),
): PlannedOps {
  const planned: PlannedOps = { ops: [], indices: new Map(), ignored: [], unmapped: [], copies: new Set() };
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
    const op: BulkOp = {
      ref: record.field,
      index,
      id: record.pk,
      version: record.version,
      op: record.op,
      json: record.json,
    };
    planned.ops.push(op);
    const target = rebuilding.get(index);
    if (target !== undefined) {
      const copy = { ...op, index: target };
      planned.ops.push(copy);
      planned.copies.add(copy);
    }
  }
  return planned;
}
