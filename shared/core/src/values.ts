// Typing of column values: the rules of docs/types.md. Canal sends every value as a string (SQL NULL
// as null) with the column's MySQL type (`mysqlType`) and its java.sql.Types code (`sqlType`); the
// checker reads rows from MySQL and hands them over in the same form, so both sides type alike.
//
// What Canal's rendering needs undone, decided by the type:
//   blob-typed columns (sqlType 2004 BLOB, -2/-3/-4 binary) arrive as ISO-8859-1 text of the raw bytes:
//     JSON and text columns of that kind are decoded as UTF-8; binary ones are base64 of the bytes
//   BINARY(n) loses its trailing 0x00 padding                       → padded back to n bytes
//   DECIMAL(p,s) may lose trailing fractional zeros ("1.00" → "1.0") → exactly s fractional digits
//   ENUM arrives as its 1-based index, SET as its bitmask            → the labels of the type
//   FLOAT is Java's rendering of the float32                         → the shortest text of that float32
//   TIMESTAMP is rendered in Canal's time zone                       → UTC, with a "Z"
import type { Value } from './change.ts';
import { geometryToGeoJson } from './geometry.ts';

export type ColumnKind =
  | 'integer'
  | 'bit'
  | 'decimal'
  | 'float'
  | 'double'
  | 'year'
  | 'date'
  | 'datetime'
  | 'timestamp'
  | 'time'
  | 'char'
  | 'text'
  | 'json'
  | 'binary'
  | 'geometry'
  | 'enum'
  | 'set';

export interface ColumnType {
  kind: ColumnKind;
  /** The type's base name in lower case ("tinyint", "varchar", "point", …). */
  base: string;
  unsigned: boolean;
  /** Integers: storage bits (8, 16, 24, 32, 64); BIT(n): n. */
  bits?: number;
  /** DECIMAL(p, s): s. */
  scale?: number;
  /** BINARY(n): n (a fixed length, padded with 0x00). */
  fixedBytes?: number;
  /** Labels of an enum or set type, in declaration order. */
  labels?: string[];
}

const INTEGER_BITS: Record<string, number> = {
  tinyint: 8,
  bool: 8,
  boolean: 8,
  smallint: 16,
  mediumint: 24,
  int: 32,
  integer: 32,
  bigint: 64,
};

const KIND_OF_BASE: Record<string, ColumnKind> = {
  ...Object.fromEntries(Object.keys(INTEGER_BITS).map((base) => [base, 'integer' as const])),
  bit: 'bit',
  decimal: 'decimal',
  numeric: 'decimal',
  dec: 'decimal',
  fixed: 'decimal',
  float: 'float',
  double: 'double',
  real: 'double',
  year: 'year',
  date: 'date',
  datetime: 'datetime',
  timestamp: 'timestamp',
  time: 'time',
  char: 'char',
  varchar: 'char',
  tinytext: 'text',
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  json: 'json',
  binary: 'binary',
  varbinary: 'binary',
  tinyblob: 'binary',
  blob: 'binary',
  mediumblob: 'binary',
  longblob: 'binary',
  geometry: 'geometry',
  point: 'geometry',
  linestring: 'geometry',
  polygon: 'geometry',
  multipoint: 'geometry',
  multilinestring: 'geometry',
  multipolygon: 'geometry',
  geometrycollection: 'geometry',
  geomcollection: 'geometry',
  enum: 'enum',
  set: 'set',
};

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

function parseType(mysqlType: string): ColumnType {
  const text = mysqlType.trim();
  const lower = text.toLowerCase();
  const base = /^[a-z]+/.exec(lower)?.[0] ?? '';
  // "double precision", "character varying", "national varchar" and the like
  const alias =
    base === 'character' || base === 'national' || base === 'nchar' || base === 'nvarchar'
      ? lower.includes('varying') || lower.includes('varchar')
        ? 'varchar'
        : 'char'
      : base;
  const kind = KIND_OF_BASE[alias] ?? 'char';
  const unsigned = /\bunsigned\b/.test(lower);
  const args = /^[a-z ]+\(([^)]*)\)/
    .exec(lower)?.[1]
    ?.split(',')
    .map((a) => Number(a.trim()));
  const type: ColumnType = { kind, base: alias, unsigned };
  if (kind === 'integer') type.bits = INTEGER_BITS[alias] ?? 64;
  else if (kind === 'bit') type.bits = args?.[0] ?? 1;
  else if (kind === 'decimal') type.scale = args?.[1] ?? 0;
  else if (alias === 'binary') type.fixedBytes = args?.[0] ?? 1;
  else if (kind === 'enum' || kind === 'set') type.labels = typeLabels(text);
  return type;
}

const typeCache = new Map<string, ColumnType>();

export function columnType(mysqlType: string): ColumnType {
  const cached = typeCache.get(mysqlType);
  if (cached) return cached;
  const type = parseType(mysqlType);
  if (typeCache.size < 10_000) typeCache.set(mysqlType, type);
  return type;
}

export function columnKind(mysqlType: string): ColumnKind {
  return columnType(mysqlType).kind;
}

/** java.sql.Types codes of the columns Canal carries as ISO-8859-1 text of their bytes. */
const BYTE_SQL_TYPES = new Set([2004, -2, -3, -4]);

export function carriesBytes(sqlType: number | undefined): boolean {
  return sqlType !== undefined && BYTE_SQL_TYPES.has(sqlType);
}

/**
 * A DECIMAL's exact text with exactly `scale` fractional digits: "1.0" (scale 2) → "1.00",
 * "-0.000" → "0.000"; an exponent form ("1.5E+3") is expanded without rounding. Text that is not a
 * number stays as it is.
 */
export function decimalAtScale(raw: string, scale: number): string {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(raw);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return raw;
  let digits = `${match[2]}${match[3] ?? ''}`;
  let point = (match[2] ?? '').length + Number(match[4] ?? 0);
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  }
  if (point > digits.length) digits += '0'.repeat(point - digits.length);
  let whole = digits.slice(0, point).replace(/^0+(?=\d)/, '') || '0';
  let fraction = digits.slice(point);
  if (fraction.length > scale) {
    // Only zeros may go: a value with more digits than its scale is kept whole.
    const kept = fraction.replace(/0+$/, '');
    fraction = kept.length > scale ? kept : kept.padEnd(scale, '0');
  } else fraction = fraction.padEnd(scale, '0');
  if (whole === '') whole = '0';
  const zero = /^0*$/.test(whole + fraction);
  const sign = match[1] === '-' && !zero ? '-' : '';
  return fraction === '' ? `${sign}${whole}` : `${sign}${whole}.${fraction}`;
}

/** The shortest decimal text that reads back as the same float32 (MySQL FLOAT), as a number. */
export function shortestFloat32(value: number): number {
  const f = Math.fround(value);
  if (!Number.isFinite(f) || f === 0) return f;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(f.toPrecision(digits));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

/** A whole number as a JSON number while a double holds it exactly, else its exact text. */
function exactInteger(raw: string): Value {
  if (!/^-?\d+$/.test(raw)) return raw;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : raw.replace(/^(-?)0+(?=\d)/, '$1');
}

/** Offset of `zone` from UTC at `utcMs`, in minutes (Intl does the time-zone rules). */
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();
function zoneOffsetMinutes(zone: string, utcMs: number): number {
  let format = zoneFormatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    zoneFormatters.set(zone, format);
  }
  const parts: Record<string, number> = {};
  for (const part of format.formatToParts(new Date(utcMs))) parts[part.type] = Number(part.value);
  const asUtc = Date.UTC(
    parts.year ?? 1970,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  return Math.round((asUtc - Math.floor(utcMs / 1000) * 1000) / 60_000);
}

const WALL_TIME = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?$/;

/**
 * "YYYY-MM-DD HH:MM:SS[.f]" read as wall time in `zone` → "YYYY-MM-DDTHH:MM:SS[.f]Z" (UTC, the
 * fraction kept digit for digit). A zero time is no instant: it keeps its digits, with the "T" of a
 * DATETIME and no zone; text that is no time at all is returned unchanged.
 */
export function wallTimeToUtc(text: string, zone: string): string {
  const m = WALL_TIME.exec(text);
  if (!m) return text;
  if (m[1] === '0000' || m[2] === '00' || m[3] === '00') return text.replace(' ', 'T');
  const fraction = m[7] ?? '';
  if (zone === 'UTC' || zone === 'Etc/UTC')
    return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${fraction}Z`;
  const wall = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4]),
    Number(m[5]),
    Number(m[6]),
  );
  let utc = wall - zoneOffsetMinutes(zone, wall) * 60_000;
  utc = wall - zoneOffsetMinutes(zone, utc) * 60_000;
  const iso = new Date(utc).toISOString(); // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  return `${iso.slice(0, 19)}${fraction}Z`;
}

function bytesOf(raw: string, type: ColumnType): Buffer {
  const bytes = Buffer.from(raw, 'latin1');
  if (type.fixedBytes !== undefined && bytes.length < type.fixedBytes) {
    return Buffer.concat([bytes, Buffer.alloc(type.fixedBytes - bytes.length)]);
  }
  return bytes;
}

export interface TypingOptions {
  /** The column's java.sql.Types code as Canal sent it (decides whether text arrived as bytes). */
  sqlType?: number | undefined;
  /** IANA zone in which TIMESTAMP values are rendered (Canal's JVM zone; the checker's session). */
  timeZone?: string;
}

export function typeValue(raw: string | null, type: ColumnType, options: TypingOptions = {}): Value {
  if (raw === null) return null;
  switch (type.kind) {
    case 'integer':
    case 'bit':
      return exactInteger(raw);
    case 'decimal':
      return decimalAtScale(raw, type.scale ?? 0);
    case 'float': {
      const n = Number(raw);
      return Number.isFinite(n) ? shortestFloat32(n) : raw;
    }
    case 'double':
    case 'year': {
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    }
    case 'date':
    case 'time':
      return raw;
    case 'datetime':
      return raw.replace(' ', 'T');
    case 'timestamp':
      return wallTimeToUtc(raw, options.timeZone ?? 'UTC');
    case 'enum': {
      if (!/^\d+$/.test(raw) || !type.labels) return raw;
      const index = Number(raw);
      return index === 0 ? '' : (type.labels[index - 1] ?? raw);
    }
    case 'set': {
      if (!/^\d+$/.test(raw) || !type.labels) return raw.split(',').filter((label) => label !== '');
      let mask = BigInt(raw);
      const chosen: string[] = [];
      for (let bit = 0; mask > 0n; bit++, mask >>= 1n) {
        if (mask & 1n) chosen.push(type.labels[bit] ?? `#${bit}`);
      }
      return chosen;
    }
    case 'binary':
      return bytesOf(raw, type).toString('base64');
    case 'geometry':
      return geometryToGeoJson(Buffer.from(raw, 'latin1')) ?? bytesOf(raw, type).toString('base64');
    default:
      // char, text, json: text; blob-typed ones arrived as the bytes of their UTF-8 text
      return carriesBytes(options.sqlType) ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
  }
}
