// Canal-format flat messages for benchmarks: one row per message over several tables, Zipf-distributed
// keys, a realistic op mix; every table's messages go to one partition, as Canal's partitionHash by
// table does. `es` carries the production time in ms, so freshness is exact.
import { fnv1a32 } from '@sluice/core';
import { seeded, zipf } from '@sluice/loadgen';

export interface FlatMessageOptions {
  database: string;
  tables: number;
  /** Table names (default t0, t1, …). */
  tableNames?: string[];
  keysPerTable: number;
  zipfS: number;
  partitions: number;
  seed: number;
}

export interface Produced {
  partition: number;
  value: string;
}

const MYSQL_TYPES = {
  id: 'bigint(20)',
  name: 'varchar(80)',
  amount: 'decimal(14,2)',
  qty: 'int(11)',
  status: "enum('new','paid','shipped','closed')",
  updated_at: 'datetime(3)',
  note: 'text',
};

export function flatMessageSource(options: FlatMessageOptions): () => Produced {
  const random = seeded(options.seed);
  const key = zipf(options.keysPerTable, options.zipfS, random);
  const tables = options.tableNames ?? Array.from({ length: options.tables }, (_, i) => `t${i}`);
  const partitionOf = new Map(tables.map((t) => [t, fnv1a32(t) % options.partitions]));
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  const word = () => words[Math.floor(random() * words.length)];
  return () => {
    const table = tables[Math.floor(random() * tables.length)] as string;
    const id = String(key() + 1);
    const r = random();
    const type = r < 0.1 ? 'INSERT' : r < 0.95 ? 'UPDATE' : 'DELETE';
    const now = Date.now();
    const row = {
      id,
      name: `${word()} ${word()} ${word()} ${id}`,
      amount: (random() * 10_000).toFixed(2),
      qty: String(Math.floor(random() * 100)),
      status: String(1 + Math.floor(random() * 4)),
      updated_at: new Date(now).toISOString().replace('T', ' ').replace('Z', ''),
      note: `${word()} ${word()} ${word()} ${word()} ${word()} ${word()} ${word()} ${word()} ${word()} ${word()}`,
    };
    const message = {
      data: [row],
      database: options.database,
      es: now,
      gtid: '',
      id: 1,
      isDdl: false,
      mysqlType: MYSQL_TYPES,
      old: type === 'UPDATE' ? [{ qty: '0' }] : null,
      pkNames: ['id'],
      sql: '',
      sqlType: {},
      table,
      ts: now,
      type,
    };
    return { partition: partitionOf.get(table) ?? 0, value: JSON.stringify(message) };
  };
}
