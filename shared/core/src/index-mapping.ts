// Elasticsearch field mappings derived from MySQL column types (pure): the table of docs/types.md.
// Every column gets an explicit mapping; the index's `dynamic` is false, so a field no mapping names
// is kept in _source and never guessed at.
import type { StringMode, TableMapping } from './mapping.ts';
import { type ColumnType, columnType } from './values.ts';

/** Field types the server may lack (modules of the default distribution, absent from minimal ones). */
export interface FieldCapabilities {
  unsignedLong: boolean;
  geoShape: boolean;
}

export type FieldMapping = Record<string, unknown>;

const KEYWORD_IGNORE_ABOVE = 256;

function integerField(type: ColumnType, caps: FieldCapabilities): FieldMapping {
  const bits = (type.bits ?? 64) + (type.unsigned ? 1 : 0);
  if (bits <= 8) return { type: 'byte' };
  if (bits <= 16) return { type: 'short' };
  if (bits <= 32) return { type: 'integer' };
  if (bits <= 64) return { type: 'long' };
  // BIGINT UNSIGNED: exact in unsigned_long; without it a double (exact up to 2^53, _source exact)
  return { type: caps.unsignedLong ? 'unsigned_long' : 'double' };
}

function stringField(mode: StringMode): FieldMapping {
  if (mode === 'keyword') return { type: 'keyword' };
  if (mode === 'text') return { type: 'text' };
  return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE } } };
}

export interface FieldOptions {
  /** The column is parsed as JSON (mapping file columns.json). */
  json: boolean;
  /** Mapping file columns.strings for this column, if any. */
  strings: StringMode | undefined;
  caps: FieldCapabilities;
}

/** The Elasticsearch mapping of one column of this MySQL type. */
export function fieldMapping(mysqlType: string, options: FieldOptions): FieldMapping {
  const type = columnType(mysqlType);
  const { caps } = options;
  switch (type.kind) {
    case 'integer':
      return integerField(type, caps);
    case 'bit':
      // BIT(n) holds n bits as an unsigned number
      return integerField({ ...type, bits: type.bits ?? 1, unsigned: true }, caps);
    case 'decimal':
      // exact text in _source, searched and aggregated as a double (scaled_float would round too)
      return { type: 'double' };
    case 'float':
      return { type: 'float' };
    case 'double':
      return { type: 'double' };
    case 'year':
      return { type: 'short' };
    case 'date':
      return { type: 'date', format: 'strict_date', ignore_malformed: true };
    case 'datetime':
    case 'timestamp':
      return { type: 'date', format: 'strict_date_optional_time', ignore_malformed: true };
    case 'time':
      return { type: 'keyword' };
    case 'enum':
    case 'set':
      return { type: 'keyword' };
    case 'binary':
      return { type: 'binary' };
    case 'geometry':
      if (type.base === 'point') return { type: 'geo_point', ignore_malformed: true };
      return caps.geoShape
        ? { type: 'geo_shape', ignore_malformed: true }
        : { type: 'object', enabled: false };
    case 'json':
      if (options.json) return { type: 'flattened' };
      return stringField(options.strings ?? 'text');
    case 'text':
      if (options.json) return { type: 'flattened' };
      return stringField(options.strings ?? 'text');
    default:
      return stringField(options.strings ?? 'text_keyword');
  }
}

/**
 * The index mappings for a table whose columns have these MySQL types: one property per indexed
 * column (by its indexed name), `dynamic: false`, then the mapping file's own `mappings` on top
 * (its properties replace the derived ones field by field, its other keys replace the defaults).
 */
export function deriveIndexMappings(
  columns: Readonly<Record<string, string>>,
  table: TableMapping,
  caps: FieldCapabilities,
): Record<string, unknown> {
  const properties: Record<string, FieldMapping> = {};
  for (const [column, mysqlType] of Object.entries(columns)) {
    const field = table.fieldOf(column);
    if (field === undefined) continue;
    properties[field] = fieldMapping(mysqlType, {
      json: table.jsonColumns.has(column),
      strings: table.stringModes.get(column),
      caps,
    });
  }
  const own = table.mappings ?? {};
  const ownProperties = (own.properties ?? {}) as Record<string, FieldMapping>;
  return { dynamic: false, ...own, properties: { ...properties, ...ownProperties } };
}
