// Typing of column values. Canal sends every value as a string (SQL NULL as null) together with the
// column's MySQL type; the same conversion is applied to rows read straight from MySQL (checker,
// tests), so both sides compare equal.
//
//   integers           number when it is a safe integer, else the exact decimal string
//   decimal/numeric    exact string without trailing fractional zeros ("12.50" → "12.5"); Canal drops
//                      the scale of zero fractions ("1.00" → "1.0"), so only this form compares equal
//   float/double       number
//   bit, year          number
//   date               "YYYY-MM-DD"; datetime/timestamp "YYYY-MM-DDTHH:MM:SS[.fff]" (zero dates → null)
//   time               string
//   enum               the label: Canal sends the 1-based index ("2"), mapped through the labels of
//                      the type ("enum('a','b')"); 0 is MySQL's invalid-value '' (empty string)
//   set                the labels joined by "," (Canal sends the bitmask)
//   json               the text, as sent (MariaDB reports JSON columns as longtext, and Canal's
//                      type for a column depends on when it learned the table, so a column is
//                      parsed only where the mapping file names it under columns.json)
//   binary/blob types  base64 of the bytes (Canal carries bytes as ISO-8859-1 text)
//   everything else    string (char, varchar, text, …)
import type { Value } from './change.ts';

export type ColumnKind =
  | 'integer'
  | 'decimal'
  | 'float'
  | 'bit'
  | 'year'
  | 'date'
  | 'datetime'
  | 'time'
  | 'json'
  | 'binary'
  | 'enum'
  | 'set'
  | 'string';

export interface ColumnType {
  kind: ColumnKind;
  /** Labels of an enum or set type, in declaration order. */
  labels?: string[];
}

const KINDS: ReadonlyArray<[RegExp, ColumnKind]> = [
  [/^(tinyint|smallint|mediumint|int|integer|bigint)\b/, 'integer'],
  [/^(decimal|numeric|dec|fixed)\b/, 'decimal'],
  [/^(float|double|real)\b/, 'float'],
  [/^bit\b/, 'bit'],
  [/^year\b/, 'year'],
  [/^date$/, 'date'],
  [/^(datetime|timestamp)\b/, 'datetime'],
  [/^time\b/, 'time'],
  [/^json\b/, 'json'],
  [/^(binary|varbinary|tinyblob|blob|mediumblob|longblob)\b/, 'binary'],
  [/^enum\s*\(/, 'enum'],
  [/^set\s*\(/, 'set'],
];

/** "enum('a','it''s','c,d')" → ["a", "it's", "c,d"]. */
export function typeLabels(mysqlType: string): string[] {
  const open = mysqlType.indexOf('(');
  const labels: string[] = [];
  const body = mysqlType.slice(open + 1, mysqlType.lastIndexOf(')'));
  const pattern = /'((?:[^']|'')*)'/g;
  for (let match = pattern.exec(body); match; match = pattern.exec(body)) {
    labels.push((match[1] ?? '').replaceAll("''", "'").replaceAll('\\\\', '\\'));
  }
  return labels;
}

const typeCache = new Map<string, ColumnType>();

export function columnType(mysqlType: string): ColumnType {
  const cached = typeCache.get(mysqlType);
  if (cached) return cached;
  const normalized = mysqlType.trim().toLowerCase();
  const kind = KINDS.find(([pattern]) => pattern.test(normalized))?.[1] ?? 'string';
  const type: ColumnType =
    kind === 'enum' || kind === 'set' ? { kind, labels: typeLabels(mysqlType.trim()) } : { kind };
  if (typeCache.size < 10_000) typeCache.set(mysqlType, type);
  return type;
}

export function columnKind(mysqlType: string): ColumnKind {
  return columnType(mysqlType).kind;
}

const ZERO_DATE = /^0000-00-00/;

/** "12.500" → "12.5", "1.0" → "1", "-0.00" → "0"; anything that is not a plain decimal stays as is. */
export function canonicalDecimal(raw: string): string {
  if (!/^-?\d+(\.\d+)?$/.test(raw)) return raw;
  let text = raw.includes('.') ? raw.replace(/0+$/, '').replace(/\.$/, '') : raw;
  if (/^-0*$/.test(text)) text = '0';
  return text;
}

export function typeValue(raw: string | null, type: ColumnType): Value {
  if (raw === null) return null;
  switch (type.kind) {
    case 'integer': {
      const n = Number(raw);
      return Number.isSafeInteger(n) && /^-?\d+$/.test(raw) ? n : raw;
    }
    case 'float':
    case 'bit':
    case 'year': {
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    }
    case 'decimal':
      return canonicalDecimal(raw);
    case 'date':
      return ZERO_DATE.test(raw) ? null : raw;
    case 'datetime':
      return ZERO_DATE.test(raw) ? null : raw.replace(' ', 'T');
    case 'enum': {
      if (!/^\d+$/.test(raw) || !type.labels) return raw;
      const index = Number(raw);
      return index === 0 ? '' : (type.labels[index - 1] ?? raw);
    }
    case 'set': {
      if (!/^\d+$/.test(raw) || !type.labels) return raw;
      let mask = BigInt(raw);
      const chosen: string[] = [];
      for (let bit = 0; mask > 0n; bit++, mask >>= 1n) {
        if (mask & 1n) chosen.push(type.labels[bit] ?? `#${bit}`);
      }
      return chosen.join(',');
    }
    case 'binary':
      return Buffer.from(raw, 'latin1').toString('base64');
    default:
      return raw;
  }
}
