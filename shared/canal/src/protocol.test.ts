// Packets against the bytes Canal's server and Java client put on the wire (worked out from their
// sources for the protocol notes in docs/redis-stream.md's sources), and the password scramble
// against the case Canal's own test round-trips.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ackError,
  decodeEntry,
  decodePacket,
  encodeEntry,
  encodePacket,
  FrameReader,
  frame,
  PacketType,
  TimeUnit,
} from './protocol.ts';
import { scramblePassword, serverPasswordHash } from './scramble.ts';

const hex = (text: string) => Buffer.from(text.replaceAll(' ', ''), 'hex');

test("the server's Handshake (version 1, an 8-byte seed) decodes from its frame", () => {
  const [packet, ...rest] = new FrameReader().push(hex('00000010 1001 1801 2a0a 1208 0102030405060708'));
  assert.equal(rest.length, 0);
  const handshake = decodePacket(packet as Buffer);
  assert.equal(handshake.type, PacketType.HANDSHAKE);
  assert.equal(handshake.version, 1);
  assert.deepEqual(handshake.body.seeds, hex('0102030405060708'));
});

test('a successful Ack has no body; an empty batch is batch id -1', () => {
  const ack = decodePacket(new FrameReader().push(hex('00000004 1001 1803'))[0] as Buffer);
  assert.equal(ack.type, PacketType.ACK);
  assert.equal(ackError(ack), undefined);
  const empty = decodePacket(
    new FrameReader().push(hex('00000011 1001 1807 2a0b 08ffffffffffffffffff01'))[0] as Buffer,
  );
  assert.equal(empty.type, PacketType.MESSAGES);
  assert.equal(empty.body.batchId, -1);
  assert.deepEqual(empty.body.messages, []);
});

test('Sub, Get and rollback-all encode to the bytes the Java client sends', () => {
  assert.deepEqual(
    frame(
      encodePacket(PacketType.SUBSCRIPTION, { destination: 'example', clientId: '1001', filter: '.*\\..*' }),
    ),
    hex('0000001b 1804 2a17 0a07 6578616d706c65 1204 31303031 3a06 2e2a5c2e2e2a'),
  );
  assert.deepEqual(
    frame(
      encodePacket(PacketType.GET, {
        destination: 'example',
        clientId: '1001',
        fetchSize: 100,
        timeout: 1000,
        unit: TimeUnit.MILLISECONDS,
        autoAck: false,
      }),
    ),
    hex('0000001c 1806 2a18 0a07 6578616d706c65 1204 31303031 1864 20e807 2802 3000'),
  );
  assert.deepEqual(
    frame(encodePacket(PacketType.CLIENTROLLBACK, { destination: 'example', clientId: '1001' })),
    hex('00000013 180c 2a0f 0a07 6578616d706c65 1204 31303031'),
  );
});

test('frames split across chunks, or several in one chunk, come out whole and in order', () => {
  const a = frame(
    encodePacket(PacketType.ACK, { errorCode: 400, errorMessage: 'auth failed for user:x' }, 1),
  );
  const b = frame(encodePacket(PacketType.ACK, {}, 1));
  const reader = new FrameReader();
  const bytes = Buffer.concat([a, b]);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 3) out.push(...reader.push(bytes.subarray(i, i + 3)));
  assert.equal(out.length, 2);
  assert.equal(reader.buffered(), 0);
  assert.deepEqual(ackError(decodePacket(out[0] as Buffer)), {
    code: 400,
    message: 'auth failed for user:x',
  });
  assert.equal(ackError(decodePacket(out[1] as Buffer)), undefined);
  assert.throws(() => new FrameReader(1024).push(hex('7fffffff 00')), /corrupt/);
});

test('an Entry of row data decodes with its header and RowChange columns', () => {
  const bytes = encodeEntry(
    {
      header: {
        version: 1,
        logfileName: 'mysql-bin.000003',
        logfileOffset: 4567,
        schemaName: 'shop',
        tableName: 'items',
        eventType: 2,
        executeTime: 1_790_000_000_000,
      },
      entryType: 2,
    },
    {
      eventType: 2,
      isDdl: false,
      rowDatas: [
        {
          beforeColumns: [
            {
              index: 0,
              sqlType: 4,
              name: 'id',
              isKey: true,
              isNull: false,
              value: '7',
              mysqlType: 'int(11)',
            },
          ],
          afterColumns: [
            {
              index: 0,
              sqlType: 4,
              name: 'id',
              isKey: true,
              isNull: false,
              value: '7',
              mysqlType: 'int(11)',
            },
            {
              index: 1,
              sqlType: 12,
              name: 'note',
              updated: true,
              isNull: true,
              value: '',
              mysqlType: 'varchar(20)',
            },
          ],
        },
      ],
    },
  );
  const entry = decodeEntry(bytes) as {
    header: Record<string, unknown>;
    rowChange: { eventType: number; rowDatas: Array<{ afterColumns: Array<Record<string, unknown>> }> };
  };
  assert.equal(entry.header.logfileName, 'mysql-bin.000003');
  assert.equal(entry.header.logfileOffset, 4567);
  assert.equal(entry.header.tableName, 'items');
  assert.equal(entry.rowChange.eventType, 2);
  const note = entry.rowChange.rowDatas[0]?.afterColumns[1];
  assert.equal(note?.isNull, true);
  assert.equal(note?.updated, true);
  assert.equal(note?.mysqlType, 'varchar(20)');
});

test("the password scramble matches Canal's own test case; canal.passwd is SHA1(SHA1(password))", () => {
  assert.equal(
    scramblePassword('canal', hex('0102030405060708')),
    '7de44690d8e53782cb61804a2455c284a3bbfb06',
  );
  assert.equal(serverPasswordHash('canal'), 'E3619321C1A937C46A0D8BD1DAC39F93B27D4458');
});
