// What one Kafka batch becomes (pure): buffer entries, backup rows, dead letters and counts.

import type { BackupRow, DeadLetterInput, TableReset } from '@sluice/backup';
import type { BufferEntry } from '@sluice/buffer';
import {
  collapseByRow,
  type DecodedChange,
  type DecodeOutcome,
  ddlAction,
  type Mapping,
  shardOf,
  shardOfTable,
  type TableMapping,
  type TableRoute,
  typeRow,
} from '@sluice/core';
import type { TableColumns } from '@sluice/sink';
import { storedForms } from './records.ts';

export interface ParsedMessage {
  offset: string;
  raw: Buffer | null;
  /** undefined when the offset was at or below the partition's applied offset (a replay). */
  outcome: DecodeOutcome | undefined;
}

export interface PlanContext {
  topic: string;
  partition: number;
  shards: number;
  mapping: Mapping;
  /** Databases never applied, whatever the mapping says (Sluice's own metadata database). */
  skipDatabases?: ReadonlySet<string>;
  /** Where each table was first seen (topic, partition) in this generation. */
  placeOf: (tableKey: string) => { topic: string; partition: number } | undefined;
  /** The zone Canal renders TIMESTAMP values in (default UTC). */
  timeZone?: string;
  /**
   * TRUNCATE and DROP TABLE can be applied: the workers read the source MySQL to tell which rows are
   * gone (SLUICE_SOURCE_MYSQL_URL). Without it they are dead-lettered.
   */
  applyResets?: boolean;
}

/** A DDL statement seen in the batch and what was done with it. */
export interface DdlSeen {
  table: string;
  type: string;
  action: 'none' | 'reset' | 'kept' | 'dead_letter';
}

export interface BatchPlan {
  entries: BufferEntry[];
  backupRows: BackupRow[];
  deadLetters: DeadLetterInput[];
  /** Per "<table>|<type>" message counts. */
  messages: Map<string, number>;
  replayed: number;
  ignored: number;
  merged: number;
  records: { upsert: number; delete: number };
  /** Per table key: its columns' types, for the index mappings (applied before buffering). */
  schemas: Map<string, TableColumns>;
  /** TRUNCATE / DROP TABLE to apply (fence + sweeps, written with the batch). */
  resets: TableReset[];
  /**
   * "<table>|<column>" of text values holding U+FFFD: bytes Canal could not decode in its
   * connectionCharset (a column of another character set), with the first message showing it.
   */
  undecodable: Map<string, ParsedMessage['offset']>;
  ddl: DdlSeen[];
}

export function planBatch(parsed: readonly ParsedMessage[], ctx: PlanContext): BatchPlan {
  const plan: BatchPlan = {
    entries: [],
    backupRows: [],
    deadLetters: [],
    messages: new Map(),
    replayed: 0,
    ignored: 0,
    merged: 0,
    records: { upsert: 0, delete: 0 },
    schemas: new Map(),
    resets: [],
    ddl: [],
    undecodable: new Map(),
  };
  const origin = (offset: string) => ({ topic: ctx.topic, partition: ctx.partition, offset });
  const dead = (m: ParsedMessage, reason: DeadLetterInput['reason'], detail: string, tableName?: string) => {
    plan.deadLetters.push({
      stage: 'ingest',
      reason,
      detail,
      ...origin(m.offset),
      ...(tableName ? { tableName } : {}),
      payload: m.raw,
    });
  };
  const routeOf = (database: string, table: string): TableRoute =>
    ctx.skipDatabases?.has(database) ? { action: 'ignore' } : ctx.mapping.route(database, table);
  const count = (key: string) => plan.messages.set(key, (plan.messages.get(key) ?? 0) + 1);

  const changes: DecodedChange[] = [];
  const mappingOf = new Map<DecodedChange, TableMapping>();
  for (const m of parsed) {
    const outcome = m.outcome;
    if (outcome === undefined) {
      plan.replayed++;
      continue;
    }
    switch (outcome.kind) {
      case 'invalid': {
        const key = outcome.table ? `${outcome.database}.${outcome.table}` : undefined;
        count(`${key ?? '-'}|INVALID`);
        // A bad message of a table the mapping skips on purpose is skipped with it.
        if (key && outcome.database && routeOf(outcome.database, outcome.table ?? '').action === 'ignore') {
          plan.ignored++;
          break;
        }
        dead(m, outcome.reason, outcome.detail, key);
        break;
      }
      case 'ignored':
        count('-|QUERY');
        plan.ignored++;
        break;
      case 'ddl': {
        const key = `${outcome.database}.${outcome.table}`;
        count(`${key}|${outcome.type}`);
        const route = outcome.table ? routeOf(outcome.database, outcome.table) : undefined;
        if (route?.action === 'ignore') {
          plan.ignored++;
          break;
        }
        const seen = (action: DdlSeen['action']) => plan.ddl.push({ table: key, type: outcome.type, action });
        const action = ddlAction(outcome.type, outcome.sql);
        const statement = `${outcome.type}: ${outcome.sql.slice(0, 2000)}`;
        if (action === 'none') {
          seen('none');
        } else if (action === 'backfill') {
          seen('dead_letter');
          dead(m, 'ddl_not_applied', statement, key);
        } else if (route?.action !== 'index') {
          seen('none');
        } else if (route.mapping.ddl[outcome.type === 'TRUNCATE' ? 'truncate' : 'drop'] === 'keep') {
          seen('kept');
        } else if (!ctx.applyResets || outcome.sourceTs <= 0) {
          seen('dead_letter');
          dead(m, 'truncate_not_applied', statement, key);
        } else {
          seen('reset');
          plan.resets.push({
            tableName: key,
            fenceTs: outcome.sourceTs,
            kind: outcome.type,
            statement: outcome.sql,
            shards: route.mapping.rowSharded
              ? Array.from({ length: ctx.shards }, (_, shard) => shard)
              : [shardOfTable(key, ctx.shards)],
          });
        }
        break;
      }
      case 'rows': {
        const key = `${outcome.database}.${outcome.table}`;
        count(`${key}|${outcome.type}`);
        const route = routeOf(outcome.database, outcome.table);
        if (route.action === 'ignore') {
          plan.ignored++;
          break;
        }
        if (route.action === 'deadletter') {
          dead(m, 'unmapped_table', `no mapping covers ${key}`, key);
          break;
        }
        const place = ctx.placeOf(key);
        if (place && (place.topic !== ctx.topic || place.partition !== ctx.partition)) {
          dead(
            m,
            'table_moved_partition',
            `${key} was first seen in ${place.topic}[${place.partition}], now in ${ctx.topic}[${ctx.partition}]`,
            key,
          );
          break;
        }
        for (const change of outcome.changes) {
          changes.push(change);
          mappingOf.set(change, route.mapping);
        }
        const types = outcome.changes[0]?.types;
        if (types) plan.schemas.set(key, { tableKey: key, mapping: route.mapping, types });
        break;
      }
    }
  }

  // Only the newest change of each row is typed, projected and serialised.
  const { records: newest, merged } = collapseByRow(changes);
  plan.merged = merged;
  for (const change of newest) {
    const mapping = mappingOf.get(change) as TableMapping;
    const shard = shardOf(change.tableKey, change.pk, ctx.shards, mapping.rowSharded);
    const row = typeRow(change, ctx.timeZone);
    if (change.data !== null) {
      for (const column in change.data) {
        const value = change.data[column];
        if (typeof value === 'string' && value.includes('\uFFFD')) {
          const key = `${change.tableKey}|${column}`;
          if (!plan.undecodable.has(key)) plan.undecodable.set(key, change.position.offset);
        }
      }
    }
    const json = row === null ? '' : JSON.stringify(mapping.project(row));
    plan.records[change.op]++;
    const { tableKey, pk, version, sourceTs, op } = change;
    const { entry, backup } = storedForms({ tableKey, pk, version, sourceTs, op, json }, shard);
    plan.entries.push(entry);
    plan.backupRows.push(backup);
  }
  return plan;
}
