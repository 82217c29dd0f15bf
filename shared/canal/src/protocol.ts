// Canal's TCP protocol as values: the definitions in proto/ loaded once (protobufjs, no generated
// code), a packet's encoding and decoding, and the frames that carry them (4-byte big-endian length,
// then one Packet; the length counts the packet only).
import protobuf from 'protobufjs';

const root = protobuf.loadSync([
  new URL('../proto/canal-protocol.proto', import.meta.url).pathname,
  new URL('../proto/entry.proto', import.meta.url).pathname,
]);

function type(name: string): protobuf.Type {
  return root.lookupType(name);
}

export const PacketType = {
  HANDSHAKE: 1,
  CLIENTAUTHENTICATION: 2,
  ACK: 3,
  SUBSCRIPTION: 4,
  UNSUBSCRIPTION: 5,
  GET: 6,
  MESSAGES: 7,
  CLIENTACK: 8,
  CLIENTROLLBACK: 12,
} as const;

/** The TimeUnit ordinals Get's `unit` takes. */
export const TimeUnit = { NANOSECONDS: 0, MICROSECONDS: 1, MILLISECONDS: 2, SECONDS: 3 } as const;

const BODY: Record<number, string> = {
  [PacketType.HANDSHAKE]: 'sluice.canal.protocol.Handshake',
  [PacketType.CLIENTAUTHENTICATION]: 'sluice.canal.protocol.ClientAuth',
  [PacketType.ACK]: 'sluice.canal.protocol.Ack',
  [PacketType.SUBSCRIPTION]: 'sluice.canal.protocol.Sub',
  [PacketType.UNSUBSCRIPTION]: 'sluice.canal.protocol.Unsub',
  [PacketType.GET]: 'sluice.canal.protocol.Get',
  [PacketType.MESSAGES]: 'sluice.canal.protocol.Messages',
  [PacketType.CLIENTACK]: 'sluice.canal.protocol.ClientAck',
  [PacketType.CLIENTROLLBACK]: 'sluice.canal.protocol.ClientRollback',
};

const PACKET = type('sluice.canal.protocol.Packet');
const OBJECT: protobuf.IConversionOptions = { longs: Number, bytes: Buffer, defaults: true, oneofs: false };

export interface Packet {
  type: number;
  version?: number;
  /** The decoded body (its message type follows from `type`). */
  body: Record<string, unknown>;
}

/** A packet's bytes (without the frame's length). */
export function encodePacket(packetType: number, body: Record<string, unknown>, version?: number): Buffer {
  const bodyType = type(BODY[packetType] ?? '');
  const problem = bodyType.verify(body);
  if (problem) throw new Error(`invalid ${bodyType.name}: ${problem}`);
  const bytes = bodyType.encode(bodyType.fromObject(body)).finish();
  const packet = PACKET.fromObject({
    type: packetType,
    body: bytes,
    ...(version === undefined ? {} : { version }),
  });
  return Buffer.from(PACKET.encode(packet).finish());
}

export function decodePacket(bytes: Uint8Array): Packet {
  const packet = PACKET.toObject(PACKET.decode(bytes), OBJECT) as {
    type: number;
    version?: number;
    body: Buffer;
  };
  const name = BODY[packet.type];
  if (!name) throw new Error(`unsupported Canal packet type ${packet.type}`);
  const bodyType = type(name);
  const body = bodyType.toObject(bodyType.decode(packet.body), OBJECT) as Record<string, unknown>;
  return { type: packet.type, ...(packet.version ? { version: packet.version } : {}), body };
}

/** A frame: the packet's length (4 bytes, big-endian), then the packet. */
export function frame(packet: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeInt32BE(packet.length);
  return Buffer.concat([header, packet]);
}

/** Splits a byte stream into packets as the chunks arrive. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);
  /** Largest packet accepted (a corrupt length must not make the reader wait for gigabytes). */
  private readonly maxBytes: number;

  constructor(maxBytes = 256 * 1024 * 1024) {
    this.maxBytes = maxBytes;
  }

  /** The whole packets completed by this chunk, in order. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const packets: Buffer[] = [];
    while (this.pending.length >= 4) {
      const length = this.pending.readInt32BE(0);
      if (length < 0 || length > this.maxBytes)
        throw new Error(`Canal frame of ${length} bytes: the stream is corrupt or not Canal's protocol`);
      if (this.pending.length < 4 + length) break;
      packets.push(this.pending.subarray(4, 4 + length));
      this.pending = this.pending.subarray(4 + length);
    }
    return packets;
  }

  /** Bytes received that do not complete a packet yet. */
  buffered(): number {
    return this.pending.length;
  }
}

const ENTRY = type('sluice.canal.entry.Entry');
const ROW_CHANGE = type('sluice.canal.entry.RowChange');

/** An Entry of a Messages batch, with its RowChange decoded for row data. */
export function decodeEntry(bytes: Uint8Array): Record<string, unknown> {
  const entry = ENTRY.toObject(ENTRY.decode(bytes), OBJECT) as Record<string, unknown> & {
    entryType: number;
    storeValue: Buffer;
  };
  if (entry.entryType === 2) {
    entry.rowChange = ROW_CHANGE.toObject(ROW_CHANGE.decode(entry.storeValue), OBJECT);
  }
  return entry;
}

/** Encodes an Entry with a RowChange (tests and fixtures). */
export function encodeEntry(entry: Record<string, unknown>, rowChange?: Record<string, unknown>): Buffer {
  const storeValue = rowChange ? ROW_CHANGE.encode(ROW_CHANGE.fromObject(rowChange)).finish() : undefined;
  const message = ENTRY.fromObject({ ...entry, ...(storeValue ? { storeValue } : {}) });
  return Buffer.from(ENTRY.encode(message).finish());
}

/** The error an Ack carries (absent or 0 code: success). */
export function ackError(packet: Packet): { code: number; message: string } | undefined {
  if (packet.type !== PacketType.ACK) return undefined;
  const code = Number(packet.body.errorCode ?? 0);
  return code === 0 ? undefined : { code, message: String(packet.body.errorMessage ?? '') };
}

const EVENT_TYPE = root.lookupEnum('sluice.canal.entry.EventType');

/** The name of an EventType number (INSERT, UPDATE, …), as Canal's flat messages spell it. */
export function eventTypeName(value: number): string | undefined {
  const name = EVENT_TYPE.valuesById[value];
  return name === undefined || name === 'EVENT_TYPE_UNSET' ? undefined : name;
}

/** Entry types (EntryProtocol.proto). */
export const EntryType = {
  TRANSACTIONBEGIN: 1,
  ROWDATA: 2,
  TRANSACTIONEND: 3,
  HEARTBEAT: 4,
  GTIDLOG: 5,
} as const;
