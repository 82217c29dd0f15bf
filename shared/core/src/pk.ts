// Primary-key encoding. One string per row that is unambiguous for composite keys and for values
// containing separators, spaces, control characters or non-ASCII. The same string is the
// Elasticsearch `_id`, the Redis buffer field and the backup table's key.
//
//   component  = each byte of the UTF-8 value that is not [A-Za-z0-9_.-] written as %XX (upper-case
//                hex); the empty string is written as "%_" (never produced otherwise)
//   encoded pk = components joined by "~" (never produced inside a component)
//   too long   = an encoding longer than 512 bytes (Elasticsearch's `_id` limit) becomes
//                "#" + SHA-256 hex of the encoding ("#" never starts another encoding)
//
// Examples: [42] → "42"; [7, "SKU:1"] → "7~SKU%3A1"; ["ü"] → "%C3%BC".
import { createHash } from 'node:crypto';

export const MAX_ID_BYTES = 512;
const EMPTY = '%_';
const SEPARATOR = '~';
const HEX = '0123456789ABCDEF';

function isSafe(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x5f || // _
    byte === 0x2e || // .
    byte === 0x2d // -
  );
}

const PLAIN = /^[A-Za-z0-9_.-]+$/;

function encodeComponent(value: string): string {
  if (value === '') return EMPTY;
  if (PLAIN.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += isSafe(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}

function decodeComponent(text: string): string {
  if (text === EMPTY) return '';
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x25) {
      const pair = text.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(pair)) throw new Error(`bad escape at ${i} in encoded key '${text}'`);
      bytes.push(Number.parseInt(pair, 16));
      i += 2;
    } else if (isSafe(code)) {
      bytes.push(code);
    } else {
      throw new Error(`unexpected character at ${i} in encoded key '${text}'`);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Encodes the primary-key values of a row (in primary-key column order). */
export function encodePk(values: readonly string[]): string {
  if (values.length === 0) throw new Error('a primary key has at least one column');
  const encoded = values.map(encodeComponent).join(SEPARATOR);
  if (encoded.length <= MAX_ID_BYTES) return encoded;
  return `#${createHash('sha256').update(encoded).digest('hex')}`;
}

/** The values back from an encoding, or undefined for a hashed (over-long) key. */
export function decodePk(encoded: string): string[] | undefined {
  if (encoded.startsWith('#')) return undefined;
  return encoded.split(SEPARATOR).map(decodeComponent);
}
