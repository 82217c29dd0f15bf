import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnType, typeLabels, typeValue, wallTimeToUtc } from './values.ts';

const typed = (raw: string | null, mysqlType: string) => typeValue(raw, columnType(mysqlType));

test('integers become numbers while safe, exact strings beyond', () => {
  assert.equal(typed('42', 'int(11)'), 42);
  assert.equal(typed('-7', 'bigint(20)'), -7);
  assert.equal(typed('9007199254740991', 'bigint(20)'), 9007199254740991);
  assert.equal(typed('18446744073709551615', 'bigint(20) unsigned'), '18446744073709551615');
  assert.equal(typed('1', 'tinyint(1)'), 1);
});

test('decimals are exact text with exactly the scale of their type', () => {
  assert.equal(typed('12345678901234.123456', 'decimal(20,6)'), '12345678901234.123456');
  assert.equal(typed('0.10', 'DECIMAL(12,2)'), '0.10');
  assert.equal(typed('1.0', 'decimal(12,2)'), '1.00', 'Canal drops zeros; the scale brings them back');
  assert.equal(typed('1', 'decimal(12,2)'), '1.00');
  assert.equal(typed('100', 'decimal(12,0)'), '100');
  assert.equal(typed('-0.00', 'decimal(5,2)'), '0.00');
  assert.equal(typed('-12.340', 'numeric(8,3)'), '-12.340');
  assert.equal(typed('-.5', 'decimal(4,2)'), '-0.50');
  assert.equal(typed('1.5E+3', 'decimal(8,1)'), '1500.0', 'an exponent form is expanded exactly');
  assert.equal(typed('1.25E-2', 'decimal(8,4)'), '0.0125');
  assert.equal(typed('99999999999999999999.999999', 'decimal(26,6)'), '99999999999999999999.999999');
  assert.equal(typed('abc', 'decimal(4,2)'), 'abc', 'what is not a number stays as sent');
});

test('FLOAT is the shortest text of its float32; DOUBLE as parsed', () => {
  assert.equal(typed('0.1', 'float'), 0.1);
  assert.equal(typed('0.10000000149011612', 'float'), 0.1, 'the exact double of float32(0.1)');
  assert.equal(typed('3.4028235E38', 'float'), 3.4028235e38);
  assert.equal(typed('1.4E-45', 'float'), 1e-45);
  assert.equal(typed('-1.5E300', 'double'), -1.5e300);
  assert.equal(typed('4.9E-324', 'double'), 5e-324);
});

test('floats, bits and years are numbers', () => {
  assert.equal(typed('1.5', 'double'), 1.5);
  assert.equal(typed('1', 'bit(1)'), 1);
  assert.equal(typed('2024', 'year(4)'), 2024);
});

test('dates and datetimes become ISO-8601 text; TIMESTAMP in UTC; zero dates stay as MySQL shows them', () => {
  assert.equal(typed('2024-02-29', 'date'), '2024-02-29');
  assert.equal(typed('2024-02-29 13:14:15', 'datetime'), '2024-02-29T13:14:15');
  assert.equal(typed('2024-02-29 13:14:15.123456', 'datetime(6)'), '2024-02-29T13:14:15.123456');
  assert.equal(typed('2024-02-29 13:14:15.123', 'timestamp(3)'), '2024-02-29T13:14:15.123Z');
  assert.equal(typed('0000-00-00 00:00:00', 'datetime'), '0000-00-00T00:00:00');
  assert.equal(typed('0000-00-00 00:00:00', 'timestamp'), '0000-00-00T00:00:00', 'no instant: no zone');
  assert.equal(typed('0000-00-00', 'date'), '0000-00-00');
  assert.equal(typed('2024-00-15', 'date'), '2024-00-15');
  assert.equal(typed('838:59:59', 'time'), '838:59:59');
  assert.equal(typed('-00:00:01.5', 'time(1)'), '-00:00:01.5');
});

test('wall times convert to UTC by the zone rules, across daylight saving', () => {
  assert.equal(wallTimeToUtc('2024-07-01 12:00:00', 'Europe/Berlin'), '2024-07-01T10:00:00Z');
  assert.equal(wallTimeToUtc('2024-01-01 12:00:00.5', 'Europe/Berlin'), '2024-01-01T11:00:00.5Z');
  assert.equal(wallTimeToUtc('2024-03-10 03:30:00', 'America/New_York'), '2024-03-10T07:30:00Z');
  assert.equal(wallTimeToUtc('1970-01-01 08:00:01', 'Asia/Shanghai'), '1970-01-01T00:00:01Z');
});

test('JSON columns stay text here (the mapping decides which to parse)', () => {
  assert.equal(typed('{"a":[1,2]}', 'json'), '{"a":[1,2]}');
  assert.equal(typed('{"a":[1,2]}', 'longtext'), '{"a":[1,2]}');
});

test('enum and set values arrive as index and bitmask and become their labels', () => {
  assert.equal(typed('2', "enum('free','pro','enterprise')"), 'pro');
  assert.equal(typed('0', "enum('free','pro')"), '');
  assert.equal(typed('pro', "enum('free','pro')"), 'pro', 'a label stays a label');
  assert.deepEqual(typed('5', "set('a','b','c')"), ['a', 'c']);
  assert.deepEqual(typed('0', "set('a','b')"), []);
  assert.deepEqual(typed('a,b', "set('a','b')"), ['a', 'b'], 'labels stay labels');
  assert.deepEqual(typeLabels("enum('a','it''s','c,d', 'x y')"), ['a', "it's", 'c,d', 'x y']);
  assert.equal(typed('1', "ENUM('10','20')"), '10');
});

test('binary columns become base64 of the ISO-8859-1 bytes; BINARY(n) padded to n', () => {
  assert.equal(typed('\u0000\u00ff\u0010', 'varbinary(64)'), 'AP8Q');
  assert.equal(typed('abc', 'blob'), 'YWJj');
  assert.equal(typed('\u0001', 'binary(3)'), 'AQAA');
});

test('text that arrived as bytes (blob-typed JSON, text) is decoded as UTF-8; TEXT as sent', () => {
  const bytes = Buffer.from('{"z":"中"}', 'utf8').toString('latin1');
  assert.equal(typeValue(bytes, columnType('JSON'), { sqlType: 2004 }), '{"z":"中"}');
  assert.equal(typeValue('中', columnType('TEXT'), { sqlType: 2005 }), '中');
  assert.equal(typeValue('{"z":"中"}', columnType('json')), '{"z":"中"}', 'the checker hands over text');
});

test('integer types: BOOL and unsigned ones, display widths and aliases', () => {
  assert.equal(typed('1', 'BOOL'), 1);
  assert.equal(typed('127', 'tinyint(4)'), 127);
  assert.deepEqual(columnType('BIGINT unsigned'), {
    kind: 'integer',
    base: 'bigint',
    unsigned: true,
    bits: 64,
  });
  assert.deepEqual(columnType('bigint(20) unsigned zerofill'), {
    kind: 'integer',
    base: 'bigint',
    unsigned: true,
    bits: 64,
  });
  assert.equal(columnType('double precision').kind, 'double');
  assert.equal(columnType('character varying(5)').kind, 'char');
  assert.equal(columnType('BIT(64)').bits, 64);
  assert.equal(typed('18446744073709551615', 'bit(64)'), '18446744073709551615');
});

test('NULL stays null and unknown types stay strings', () => {
  assert.equal(typed(null, 'int'), null);
  assert.equal(typed('POINT(1 2)', 'geometry'), 'UE9JTlQoMSAyKQ==', 'bytes that are not WKB stay bytes');
  assert.equal(typed('abc', ''), 'abc');
});
