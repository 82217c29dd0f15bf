import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnType, typeLabels, typeValue } from './values.ts';

const typed = (raw: string | null, mysqlType: string) => typeValue(raw, columnType(mysqlType));

test('integers become numbers while safe, exact strings beyond', () => {
  assert.equal(typed('42', 'int(11)'), 42);
  assert.equal(typed('-7', 'bigint(20)'), -7);
  assert.equal(typed('9007199254740991', 'bigint(20)'), 9007199254740991);
  assert.equal(typed('18446744073709551615', 'bigint(20) unsigned'), '18446744073709551615');
  assert.equal(typed('1', 'tinyint(1)'), 1);
});

test('decimals keep every significant digit in one canonical form', () => {
  assert.equal(typed('12345678901234.123456', 'decimal(20,6)'), '12345678901234.123456');
  assert.equal(typed('0.10', 'DECIMAL(12,2)'), '0.1');
  assert.equal(typed('1.0', 'decimal(12,2)'), '1');
  assert.equal(typed('1.00', 'decimal(12,2)'), '1');
  assert.equal(typed('100', 'decimal(12,0)'), '100');
  assert.equal(typed('-0.00', 'decimal(5,2)'), '0');
  assert.equal(typed('-12.340', 'numeric(8,3)'), '-12.34');
  assert.equal(typed('99999999999999999999.999999', 'decimal(26,6)'), '99999999999999999999.999999');
});

test('floats, bits and years are numbers', () => {
  assert.equal(typed('1.5', 'double'), 1.5);
  assert.equal(typed('1', 'bit(1)'), 1);
  assert.equal(typed('2024', 'year(4)'), 2024);
});

test('dates and datetimes become ISO-8601 text; zero dates become null', () => {
  assert.equal(typed('2024-02-29', 'date'), '2024-02-29');
  assert.equal(typed('2024-02-29 13:14:15', 'datetime'), '2024-02-29T13:14:15');
  assert.equal(typed('2024-02-29 13:14:15.123', 'timestamp(3)'), '2024-02-29T13:14:15.123');
  assert.equal(typed('0000-00-00 00:00:00', 'datetime'), null);
  assert.equal(typed('0000-00-00', 'date'), null);
  assert.equal(typed('838:59:59', 'time'), '838:59:59');
});

test('JSON columns stay text here (the mapping decides which to parse)', () => {
  assert.equal(typed('{"a":[1,2]}', 'json'), '{"a":[1,2]}');
  assert.equal(typed('{"a":[1,2]}', 'longtext'), '{"a":[1,2]}');
});

test('enum and set values arrive as index and bitmask and become their labels', () => {
  assert.equal(typed('2', "enum('free','pro','enterprise')"), 'pro');
  assert.equal(typed('0', "enum('free','pro')"), '');
  assert.equal(typed('pro', "enum('free','pro')"), 'pro', 'a label stays a label');
  assert.equal(typed('5', "set('a','b','c')"), 'a,c');
  assert.equal(typed('0', "set('a','b')"), '');
  assert.deepEqual(typeLabels("enum('a','it''s','c,d', 'x y')"), ['a', "it's", 'c,d', 'x y']);
  assert.equal(typed('1', "ENUM('10','20')"), '10');
});

test('binary columns become base64 of the ISO-8859-1 bytes', () => {
  assert.equal(typed('\u0000\u00ff\u0010', 'varbinary(64)'), 'AP8Q');
  assert.equal(typed('abc', 'blob'), 'YWJj');
});

test('NULL stays null and unknown types stay strings', () => {
  assert.equal(typed(null, 'int'), null);
  assert.equal(typed('POINT(1 2)', 'geometry'), 'POINT(1 2)');
  assert.equal(typed('abc', ''), 'abc');
});
