// Index mappings that follow the tables. Ingest calls `TableSchemas.ensure()` with the column types of
// every table in a batch before the batch reaches the buffer, so a column's mapping exists before any
// document that holds it is written. For a new index the template (settings + derived mappings) makes
// the index; for an existing one only fields it lacks are added, and a field whose existing type
// differs from the derived one is reported as a conflict (the user's index is respected).
import { deriveIndexMappings, type FieldCapabilities, type TableMapping } from '@sluice/core';
import { ensureAliasedIndex } from './aliases.ts';
import type { EsApi } from './client.ts';
import { type IndexDefaults, indexSettings, templateBody } from './indices.ts';

type Properties = Record<string, Record<string, unknown>>;

export interface MappingConflict {
  field: string;
  /** The type the index has. */
  existing: string;
  /** The type the column's MySQL type derives. */
  wanted: string;
}

/** What to add to an index's properties, and what cannot be changed in place (pure). */
export function diffProperties(
  existing: Properties,
  wanted: Properties,
): { add: Properties; conflicts: MappingConflict[] } {
  const add: Properties = {};
  const conflicts: MappingConflict[] = [];
  for (const [field, mapping] of Object.entries(wanted)) {
    const have = Object.hasOwn(existing, field) ? existing[field] : undefined;
    if (have === undefined) {
      add[field] = mapping;
      continue;
    }
    const typeOf = (m: Record<string, unknown>) => String(m.type ?? 'object');
    if (typeOf(have) !== typeOf(mapping)) {
      conflicts.push({ field, existing: typeOf(have), wanted: typeOf(mapping) });
    }
  }
  return { add, conflicts };
}

/** Which optional field types the server's modules provide. */
export async function fieldCapabilities(es: EsApi): Promise<FieldCapabilities> {
  const response = await es.request<{ nodes?: Record<string, { modules?: Array<{ name?: string }> }> }>({
    method: 'GET',
    path: '/_nodes/plugins',
    querystring: { filter_path: 'nodes.*.modules.name' },
  });
  const nodes = Object.values(response.body.nodes ?? {});
  const everyNodeHas = (pattern: RegExp) =>
    nodes.length > 0 && nodes.every((n) => (n.modules ?? []).some((m) => pattern.test(m.name ?? '')));
  return { unsignedLong: everyNodeHas(/unsigned-long/), geoShape: everyNodeHas(/spatial|legacy-geo/) };
}

export interface TableColumns {
  tableKey: string;
  mapping: TableMapping;
  /** Column → MySQL type, as the newest message of the table in the batch says. */
  types: Readonly<Record<string, string>>;
}

export interface SchemaReport {
  tableKey: string;
  index: string;
  conflicts: MappingConflict[];
}

export class TableSchemas {
  private readonly es: EsApi;
  private readonly defaults: IndexDefaults;
  private readonly caps: FieldCapabilities;
  /** Per index: the columns (and their MySQL types) whose mappings were applied. */
  private readonly applied = new Map<string, Map<string, string>>();
  /** Per index: the fields whose existing type differs from the derived one, as last applied. */
  private readonly conflicts = new Map<string, MappingConflict[]>();

  constructor(es: EsApi, defaults: IndexDefaults, caps: FieldCapabilities) {
    this.es = es;
    this.defaults = defaults;
    this.caps = caps;
  }

  /** True when every column of `types` was applied with the same MySQL type. */
  private known(index: string, types: Readonly<Record<string, string>>): boolean {
    const applied = this.applied.get(index);
    if (!applied) return false;
    for (const column in types) if (applied.get(column) !== types[column]) return false;
    return true;
  }

  /**
   * Applies the mappings of tables with columns not seen before. Returns the conflicts of every
   * given table's index (the caller reports each once, when its report is stored).
   */
  async ensure(tables: Iterable<TableColumns>): Promise<SchemaReport[]> {
    const reports: SchemaReport[] = [];
    for (const { tableKey, mapping, types } of tables) {
      const index = mapping.index;
      if (!this.known(index, types)) {
        const columns = new Map(this.applied.get(index));
        for (const [column, type] of Object.entries(types)) columns.set(column, type);
        const mappings = deriveIndexMappings(Object.fromEntries(columns), mapping, this.caps);
        this.conflicts.set(index, await this.apply(index, mappings, mapping.settings));
        this.applied.set(index, columns);
      }
      const conflicts = this.conflicts.get(index) ?? [];
      if (conflicts.length > 0) reports.push({ tableKey, index, conflicts });
    }
    return reports;
  }

  private async apply(
    index: string,
    mappings: Record<string, unknown>,
    settings: Record<string, unknown> | undefined,
  ): Promise<MappingConflict[]> {
    const name = encodeURIComponent(index);
    const spec = { name: index, mappings, settings };
    await this.es.request({
      method: 'PUT',
      path: `/_index_template/${name}`,
      body: templateBody(spec, this.defaults),
    });
    const body = { settings: indexSettings(spec, this.defaults), mappings };
    if ((await ensureAliasedIndex(this.es, index, body)) === 'created') return [];
    const current = await this.es.request<Record<string, { mappings?: { properties?: Properties } }>>({
      method: 'GET',
      path: `/${name}/_mapping`,
    });
    const existing = Object.values(current.body)[0]?.mappings?.properties ?? {};
    const { add, conflicts } = diffProperties(existing, mappings.properties as Properties);
    if (Object.keys(add).length > 0) {
      await this.es.request({ method: 'PUT', path: `/${name}/_mapping`, body: { properties: add } });
    }
    return conflicts;
  }
}
