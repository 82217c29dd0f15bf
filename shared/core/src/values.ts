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
//   json               the parsed JSON value (an unparsable value stays a string)
//   binary/blob types  base64 of the bytes (Canal carries bytes as ISO-8859-1 text)
//   everything else    string (char, varchar, text, enum, set, …)
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
  | 'string';

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
];

const kindCache = new Map<string, ColumnKind>();

export function columnKind(mysqlType: string): ColumnKind {
  const cached = kindCache.get(mysqlType);
  if (cached) return cached;
  const normalized = mysqlType.trim().toLowerCase();
  const kind = KINDS.find(([pattern]) => pattern.test(normalized))?.[1] ?? 'string';
  if (kindCache.size < 10_000) kindCache.set(mysqlType, kind);
  return kind;
}

const ZERO_DATE = /^0000-00-00/;

/** "12.500" → "12.5", "1.0" → "1", "-0.00" → "0"; anything that is not a plain decimal stays as is. */
export function canonicalDecimal(raw: string): string {
  if (!/^-?\d+(\.\d+)?$/.test(raw)) return raw;
  let text = raw.includes('.') ? raw.replace(/0+$/, '').replace(/\.$/, '') : raw;
  if (/^-0*$/.test(text)) text = '0';
  return text;
}

export function typeValue(raw: string | null, kind: ColumnKind): Value {
  if (raw === null) return null;
  switch (kind) {
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
    case 'json':
      try {
        return JSON.parse(raw) as Value;
      } catch {
        return raw;
      }
    case 'binary':
      return Buffer.from(raw, 'latin1').toString('base64');
    default:
      return raw;
  }
}
