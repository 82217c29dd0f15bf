// Table → index mapping, from the mapping file (YAML or JSON, parsed by the caller). Pure.
//
//   unmapped: index            # tables no rule names: index (defaults) | ignore | deadletter
//   exclude: ["shop.audit_*"]  # skipped on purpose (counted, not dead-lettered)
//   tables:
//     shop.customers:          # "<db>.<table>"; * and ? are wildcards
//       index: customers       # default "<prefix><db>.<table>"; may use {db} and {table}
//       columns:
//         include: [id, email] # or exclude: [...]
//         rename: { name: full_name }
//         json: [profile]      # parse these text columns as JSON (objects in Elasticsearch)
//         strings: { sku: keyword, body: text }   # text | keyword | text_keyword (docs/types.md)
//       row_sharded: false     # spread this table's rows over all shards (one very hot table)
//       ddl: { truncate: delete, drop: delete }   # or keep: leave the documents (docs/types.md)
//       mappings: { properties: { email: { type: keyword } } }   # Elasticsearch mappings
import { z } from 'zod';
import type { Row, Value } from './change.ts';
import { emptyRow } from './change.ts';

/** How a CHAR/VARCHAR/TEXT column is searched (docs/types.md). */
export type StringMode = 'text' | 'keyword' | 'text_keyword';
const STRING_MODES = ['text', 'keyword', 'text_keyword'] as const;

const columnsSchema = z
  .object({
    include: z.array(z.string().min(1)).optional(),
    exclude: z.array(z.string().min(1)).optional(),
    rename: z.record(z.string(), z.string().min(1)).optional(),
    json: z.array(z.string().min(1)).optional(),
    strings: z.record(z.string(), z.enum(STRING_MODES)).optional(),
  })
  .strict()
  .refine((c) => !(c.include && c.exclude), { message: 'use either include or exclude, not both' });

const tableSchema = z
  .object({
    index: z.string().min(1).optional(),
    columns: columnsSchema.optional(),
    row_sharded: z.boolean().optional(),
    ddl: z
      .object({
        truncate: z.enum(['delete', 'keep']).optional(),
        drop: z.enum(['delete', 'keep']).optional(),
      })
      .strict()
      .optional(),
    mappings: z.record(z.string(), z.unknown()).optional(),
    settings: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const mappingFileSchema = z
  .object({
    unmapped: z.enum(['index', 'ignore', 'deadletter']).default('index'),
    exclude: z.array(z.string().min(1)).default([]),
    tables: z.record(z.string().min(3), tableSchema.nullable()).default({}),
  })
  .strict();

export type MappingFile = z.output<typeof mappingFileSchema>;

/** What TRUNCATE and DROP TABLE do to the table's documents. */
export interface DdlPolicy {
  truncate: 'delete' | 'keep';
  drop: 'delete' | 'keep';
}

export interface TableMapping {
  index: string;
  rowSharded: boolean;
  ddl: DdlPolicy;
  mappings: Record<string, unknown> | undefined;
  settings: Record<string, unknown> | undefined;
  /** Turns a typed source row into the indexed document (include/exclude/rename). */
  project: (row: Row) => Row;
  /** The indexed field of a column, or undefined when the column is not indexed. */
  fieldOf: (column: string) => string | undefined;
  /** Columns parsed as JSON. */
  jsonColumns: ReadonlySet<string>;
  /** How string columns are searched, where the mapping file says. */
  stringModes: ReadonlyMap<string, StringMode>;
}

export type TableRoute =
  | { action: 'index'; mapping: TableMapping }
  | { action: 'ignore' }
  | { action: 'deadletter' };

function globToRegExp(glob: string): RegExp {
  const escaped = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

/** Elasticsearch index names: lower case, none of \ / * ? " < > | , # : or space, no leading - _ +. */
export function sanitizeIndexName(name: string): string {
  let out = name.toLowerCase().replace(/[\\/*?"<>|,#:\s]/g, '_');
  out = out.replace(/^[-_+]+/, '');
  if (out === '' || out === '.' || out === '..') out = `idx${out}`;
  while (Buffer.byteLength(out) > 255) out = out.slice(0, -1);
  return out;
}

/** A JSON column's text as its value; text that is not JSON stays text. */
function parseJsonColumn(value: Value): Value {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as Value;
  } catch {
    return value;
  }
}

type ColumnRules = Pick<TableMapping, 'project' | 'fieldOf' | 'jsonColumns' | 'stringModes'>;

function columnRules(columns: z.output<typeof columnsSchema> | undefined): ColumnRules {
  const stringModes = new Map(Object.entries(columns?.strings ?? {}));
  if (!columns || (!columns.include && !columns.exclude && !columns.rename && !columns.json)) {
    return { project: (row) => row, fieldOf: (column) => column, jsonColumns: new Set(), stringModes };
  }
  const include = columns.include ? new Set(columns.include) : undefined;
  const exclude = new Set(columns.exclude ?? []);
  const rename = new Map(Object.entries(columns.rename ?? {}));
  const json = new Set(columns.json ?? []);
  const fieldOf = (column: string) =>
    (include ? !include.has(column) : exclude.has(column)) ? undefined : (rename.get(column) ?? column);
  return {
    project: (row) => {
      const out = emptyRow();
      for (const [name, value] of Object.entries(row)) {
        const field = fieldOf(name);
        if (field === undefined) continue;
        out[field] = json.has(name) ? parseJsonColumn(value) : value;
      }
      return out;
    },
    fieldOf,
    jsonColumns: json,
    stringModes,
  };
}

export class Mapping {
  readonly file: MappingFile;
  readonly indexPrefix: string;
  private readonly rules: Array<{
    pattern: RegExp;
    literal: boolean;
    name: string;
    table: z.output<typeof tableSchema>;
  }>;
  private readonly excluded: RegExp[];
  private readonly cache = new Map<string, TableRoute>();

  constructor(file: unknown, indexPrefix = '') {
    const parsed = mappingFileSchema.safeParse(file ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join('.') : '(top level)';
      throw new Error(`mapping file: ${where}: ${issue?.message ?? 'invalid'}`);
    }
    this.file = parsed.data;
    this.indexPrefix = indexPrefix;
    this.rules = Object.entries(parsed.data.tables).map(([name, table]) => ({
      name,
      pattern: globToRegExp(name),
      literal: !/[*?]/.test(name),
      table: table ?? {},
    }));
    // Exact names win over patterns; among patterns the first listed wins.
    this.rules.sort((a, b) => Number(b.literal) - Number(a.literal));
    for (const rule of this.rules) {
      if (!rule.literal && rule.table.index && !/\{table\}/.test(rule.table.index)) {
        throw new Error(
          `mapping file: tables.${rule.name}.index must contain {table}: a pattern sends several tables to it and their ids would collide`,
        );
      }
    }
    this.excluded = parsed.data.exclude.map(globToRegExp);
  }

  defaultIndex(database: string, table: string): string {
    return sanitizeIndexName(`${this.indexPrefix}${database}.${table}`);
  }

  route(database: string, table: string): TableRoute {
    const key = `${database}.${table}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    const route = this.resolve(database, table, key);
    this.cache.set(key, route);
    return route;
  }

  private resolve(database: string, table: string, key: string): TableRoute {
    if (this.excluded.some((p) => p.test(key))) return { action: 'ignore' };
    const rule = this.rules.find((r) => r.pattern.test(key));
    if (!rule) {
      if (this.file.unmapped === 'ignore') return { action: 'ignore' };
      if (this.file.unmapped === 'deadletter') return { action: 'deadletter' };
    }
    const spec = rule?.table ?? {};
    const index = spec.index
      ? sanitizeIndexName(spec.index.replaceAll('{db}', database).replaceAll('{table}', table))
      : this.defaultIndex(database, table);
    return {
      action: 'index',
      mapping: {
        index,
        rowSharded: spec.row_sharded ?? false,
        ddl: { truncate: spec.ddl?.truncate ?? 'delete', drop: spec.ddl?.drop ?? 'delete' },
        mappings: spec.mappings,
        settings: spec.settings,
        ...columnRules(spec.columns),
      },
    };
  }
}
