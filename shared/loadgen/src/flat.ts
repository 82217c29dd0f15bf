// Canal-format flat messages made up, for load tests that must saturate Sluice (MySQL and Canal are
// far slower than ingest) and for benchmarks: one row per message, as Canal's flatMessage sends them,
// every table's messages to one partition (as Canal's partitionHash by table does), `es` the time of
// production in ms (so freshness is exact).
//
// Many generators can run at once against one topic, each with its own instance number: instance i
// of G owns the ids ≡ i (mod G) of every table, so no two generators write one row, and the order of
// each row's changes is its generator's order. Keys are Zipf-distributed over the generator's own ids
// (s = 0: uniform). A row that does not exist is inserted; one that does is updated or deleted by the
// mix. Each row carries `rev`, its generator's count of writes to it, so the final state of every
// key is known: `expected()` gives, per table and id, the last rev written, or null once deleted.
// The same options give the same messages (the seed is mixed with the instance number).
import { fnv1a32 } from '@sluice/core';
import { seeded, zipf } from './random.ts';

export interface FlatLoadOptions {
  database: string;
  /** Table names. */
  tables: readonly string[];
  /** Ids per table (1..keysPerTable), shared out among the instances. */
  keysPerTable: number;
  /** Zipf exponent of key choice; 0 for uniform keys. */
  zipfS: number;
  /** Partitions of the topic. */
  partitions: number;
  seed: number;
  /** This generator's number, 0-based, and how many run at once (default: 0 of 1). */
  instance?: number;
  instances?: number;
  /** Of changes to existing rows: the share that are deletes (the rest are updates). Default 0.05. */
  deleteShare?: number;
  /** Approximate bytes of each row's JSON (a text column is padded to it). Default 300. */
  rowBytes?: number;
  /** The time stamped into `es` and `ts` (default Date.now). */
  now?: () => number;
}

export interface FlatMessage {
  partition: number;
  /** The Kafka message key: the table (as Canal keys by partitionHash). */
  key: string;
  value: string;
  table: string;
  id: number;
  type: 'INSERT' | 'UPDATE' | 'DELETE';
  rev: number;
}

const MYSQL_TYPES = {
  id: 'bigint(20)',
  rev: 'int(11)',
  writer: 'int(11)',
  name: 'varchar(80)',
  amount: 'decimal(14,2)',
  qty: 'int(11)',
  status: "enum('new','paid','shipped','closed')",
  updated_at: 'datetime(3)',
  note: 'text',
};
const SQL_TYPES = {
  id: -5,
  rev: 4,
  writer: 4,
  name: 12,
  amount: 3,
  qty: 4,
  status: 4,
  updated_at: 93,
  note: 2005,
};
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

/** The partition of a table's messages: the same hash for every generator and for the checks. */
export function partitionOfTable(table: string, partitions: number): number {
  return fnv1a32(table) % partitions;
}

export class FlatMessageGenerator {
  private readonly options: Required<Omit<FlatLoadOptions, 'now'>> & { now: () => number };
  private readonly random: () => number;
  private readonly rank: () => number;
  private readonly owned: number;
  /** Per table: rev of each owned id by local index (0: never written), and whether it exists. */
  private readonly revs: Map<string, Int32Array>;
  private readonly exists: Map<string, Uint8Array>;
  private readonly partitions: Map<string, number>;
  private produced = 0;

  constructor(options: FlatLoadOptions) {
    this.options = {
      instance: 0,
      instances: 1,
      deleteShare: 0.05,
      rowBytes: 300,
      now: Date.now,
      ...options,
    };
    const { instance, instances, keysPerTable, tables, zipfS, seed, partitions } = this.options;
    if (!Number.isInteger(instances) || instances < 1 || instance < 0 || instance >= instances)
      throw new RangeError(`instance ${instance} of ${instances}: want 0 ≤ instance < instances`);
    if (tables.length === 0) throw new RangeError('at least one table');
    this.owned = Math.floor((keysPerTable - instance - 1) / instances) + 1;
    if (this.owned < 1)
      throw new RangeError(`${keysPerTable} keys per table leave none to instance ${instance}`);
    this.random = seeded((seed ^ Math.imul(instance + 1, 0x9e3779b1)) >>> 0);
    this.rank =
      zipfS > 0 ? zipf(this.owned, zipfS, this.random) : () => Math.floor(this.random() * this.owned);
    this.revs = new Map(tables.map((t) => [t, new Int32Array(this.owned)]));
    this.exists = new Map(tables.map((t) => [t, new Uint8Array(this.owned)]));
    this.partitions = new Map(tables.map((t) => [t, partitionOfTable(t, partitions)]));
  }

  get instance(): number {
    return this.options.instance;
  }

  get instances(): number {
    return this.options.instances;
  }

  /** Messages made so far. */
  get count(): number {
    return this.produced;
  }

  next(): FlatMessage {
    const { tables, instance, instances, deleteShare, database, rowBytes } = this.options;
    const table = tables[Math.floor(this.random() * tables.length)] as string;
    const local = this.rank();
    const id = local * instances + instance + 1;
    const revs = this.revs.get(table) as Int32Array;
    const exists = this.exists.get(table) as Uint8Array;
    const rev = (revs[local] as number) + 1;
    revs[local] = rev;
    const type = !exists[local] ? 'INSERT' : this.random() < deleteShare ? 'DELETE' : 'UPDATE';
    exists[local] = type === 'DELETE' ? 0 : 1;
    const now = this.options.now();
    const word = () => WORDS[Math.floor(this.random() * WORDS.length)] as string;
    const row = {
      id: String(id),
      rev: String(rev),
      writer: String(instance),
      name: `${word()} ${word()} ${id}`,
      amount: (this.random() * 10_000).toFixed(2),
      qty: String(Math.floor(this.random() * 100)),
      status: String(1 + Math.floor(this.random() * 4)),
      updated_at: new Date(now).toISOString().replace('T', ' ').replace('Z', ''),
      note: '',
    };
    const need = rowBytes - JSON.stringify(row).length;
    let note = '';
    while (note.length < need) note += `${word()} `;
    row.note = note.slice(0, Math.max(0, need));
    const message = {
      data: [row],
      database,
      es: now,
      gtid: '',
      id: this.produced + 1,
      isDdl: false,
      mysqlType: MYSQL_TYPES,
      old: type === 'UPDATE' ? [{ rev: String(rev - 1), qty: '0' }] : null,
      pkNames: ['id'],
      sql: '',
      sqlType: SQL_TYPES,
      table,
      ts: now,
      type,
    };
    this.produced++;
    return {
      partition: this.partitions.get(table) as number,
      key: table,
      value: JSON.stringify(message),
      table,
      id,
      type,
      rev,
    };
  }

  /** Every id this generator wrote, per table: its last rev, or null when its last write deleted it. */
  expected(): Map<string, Map<number, number | null>> {
    const { instance, instances } = this.options;
    const out = new Map<string, Map<number, number | null>>();
    for (const [table, revs] of this.revs) {
      const exists = this.exists.get(table) as Uint8Array;
      const rows = new Map<number, number | null>();
      revs.forEach((rev, local) => {
        if (rev > 0) rows.set(local * instances + instance + 1, exists[local] ? rev : null);
      });
      out.set(table, rows);
    }
    return out;
  }
}
