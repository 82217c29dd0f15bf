// MySQL/MariaDB spatial values → GeoJSON geometry objects (pure). A stored geometry is a 4-byte
// little-endian SRID followed by the geometry in WKB (well-known binary); GeoJSON has no SRID, so the
// SRID is dropped (docs/types.md). Malformed bytes give null (the caller keeps the bytes instead).
import type { Value } from './change.ts';

const TYPES = [
  '',
  'Point',
  'LineString',
  'Polygon',
  'MultiPoint',
  'MultiLineString',
  'MultiPolygon',
  'GeometryCollection',
] as const;

class Reader {
  offset = 0;
  little = true;
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  need(n: number): void {
    if (this.offset + n > this.bytes.length) throw new RangeError('truncated WKB');
  }
  uint32(): number {
    this.need(4);
    const v = this.little ? this.bytes.readUInt32LE(this.offset) : this.bytes.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  double(): number {
    this.need(8);
    const v = this.little ? this.bytes.readDoubleLE(this.offset) : this.bytes.readDoubleBE(this.offset);
    this.offset += 8;
    return v;
  }
  count(): number {
    const n = this.uint32();
    // every element takes at least 8 bytes: a count beyond what is left is corrupt
    if (n > (this.bytes.length - this.offset) / 8 + 1) throw new RangeError('WKB count out of range');
    return n;
  }
  point(): number[] {
    return [this.double(), this.double()];
  }
  points(): number[][] {
    const n = this.count();
    const out: number[][] = [];
    for (let i = 0; i < n; i++) out.push(this.point());
    return out;
  }
}

function readGeometry(reader: Reader, depth: number): { [key: string]: Value } {
  if (depth > 32) throw new RangeError('WKB nested too deeply');
  reader.need(1);
  reader.little = reader.bytes[reader.offset] === 1;
  reader.offset += 1;
  const code = reader.uint32();
  const type = TYPES[code];
  if (!type) throw new RangeError(`unknown WKB geometry type ${code}`);
  switch (type) {
    case 'Point':
      return { type, coordinates: reader.point() };
    case 'LineString':
      return { type, coordinates: reader.points() };
    case 'Polygon': {
      const rings: number[][][] = [];
      for (let i = 0, n = reader.count(); i < n; i++) rings.push(reader.points());
      return { type, coordinates: rings };
    }
    case 'GeometryCollection': {
      const geometries: Array<{ [key: string]: Value }> = [];
      for (let i = 0, n = reader.count(); i < n; i++) geometries.push(readGeometry(reader, depth + 1));
      return { type, geometries };
    }
    default: {
      // Multi*: each member is a whole WKB geometry of the single kind
      const members: Value[] = [];
      for (let i = 0, n = reader.count(); i < n; i++) {
        const member = readGeometry(reader, depth + 1);
        members.push(member.coordinates as Value);
      }
      return { type, coordinates: members };
    }
  }
}

/** SRID + WKB → a GeoJSON geometry object, or null when the bytes are not a geometry. */
export function geometryToGeoJson(bytes: Buffer): { [key: string]: Value } | null {
  if (bytes.length < 4 + 5) return null;
  try {
    const reader = new Reader(bytes);
    reader.offset = 4;
    const geometry = readGeometry(reader, 0);
    return reader.offset === bytes.length ? geometry : null;
  } catch {
    return null;
  }
}
