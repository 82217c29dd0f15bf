// A table with every MySQL/MariaDB column type Sluice documents (docs/types.md), and rows that hold
// NULLs, both ends of every range and non-ASCII text in every text-like column of a Unicode character
// set. The latin1 column holds ASCII: Canal decodes every text column with its connectionCharset
// (UTF-8), so non-ASCII latin1 text cannot arrive exact (docs/types.md, "Character sets"). Shared by the
// type-matrix end-to-end test and the fixture capture tool.

export const TYPE_MATRIX_COLUMNS = `
  id INT NOT NULL PRIMARY KEY,
  i8 TINYINT NULL, u8 TINYINT UNSIGNED NULL, i16 SMALLINT NULL, u16 SMALLINT UNSIGNED NULL,
  i24 MEDIUMINT NULL, u24 MEDIUMINT UNSIGNED NULL, i32 INT NULL, u32 INT UNSIGNED NULL,
  i64 BIGINT NULL, u64 BIGINT UNSIGNED NULL, flag BOOL NULL,
  d0 DECIMAL(10,0) NULL, d2 DECIMAL(12,2) NULL, d30 DECIMAL(65,30) NULL,
  f FLOAT NULL, g DOUBLE NULL,
  b1 BIT(1) NULL, b64 BIT(64) NULL, y YEAR NULL,
  dt DATE NULL, tm TIME(6) NULL, dtm DATETIME(6) NULL, ts TIMESTAMP(3) NULL,
  c CHAR(8) NULL, vc VARCHAR(200) NULL, vc_bin VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  vc_latin1 VARCHAR(50) CHARACTER SET latin1 NULL, txt TEXT NULL, ltxt LONGTEXT NULL,
  bin BINARY(4) NULL, vbin VARBINARY(20) NULL, blb BLOB NULL,
  e ENUM('small','medium','large','ü') NULL, st SET('red','green','blue') NULL,
  j JSON NULL, geo GEOMETRY NULL, pt POINT NULL`;

const TEXT = '中文 😀 é̀ naïve';

/** Rows: extremes, NULLs, non-ASCII. Each entry is one INSERT's VALUES list. */
export const TYPE_MATRIX_ROWS: string[] = [
  // minimums / negative ends
  `(1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, FALSE,
    -9999999999, -9999999999.99, -99999999999999999999999999999999999.999999999999999999999999999999,
    -3.40282e38, -1.7976931348623157e308, b'0', b'0', 1901,
    '1000-01-01', '-838:59:59.000000', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000',
    '', '', '', '', '', '', X'00000000', X'', X'',
    'small', '', '{}', ST_GeomFromText('POINT(-180 -90)'), ST_GeomFromText('POINT(-180 -90)'))`,
  // maximums
  `(2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807,
    18446744073709551615, TRUE, 9999999999, 9999999999.99,
    99999999999999999999999999999999999.999999999999999999999999999999,
    3.40282e38, 1.7976931348623157e308, b'1', b'1111111111111111111111111111111111111111111111111111111111111111', 2155,
    '9999-12-31', '838:59:59.000000', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999',
    'ABCDEFGH', REPEAT('x', 200), 'CaseSensitive', 'latin1: plain ASCII', REPEAT('t', 1000), REPEAT('l', 5000),
    X'FFFFFFFF', X'00FF00FF00FF', X'DEADBEEF00',
    'large', 'red,green,blue', '{"a":[1,2.5,"x"],"n":null,"t":true}',
    ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'), ST_GeomFromText('POINT(180 90)'))`,
  // every column NULL
  `(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL)`,
  // ordinary values, non-ASCII everywhere text can go
  `(4, 0, 1, 1, 2, 3, 4, 5, 6, 9007199254740993, 9007199254740993, 1, 0, 1.00, 1.100000000000000000000000000001,
    0.1, 0.1, b'1', b'101', 2024,
    '2024-02-29', '25:00:00.5', '2024-02-29 13:14:15.5', '2024-03-01 12:00:00.250',
    '中文', '${TEXT}', '${TEXT}', 'Cafe creme', '${TEXT}', '${TEXT}', X'E4B8AD00', X'F09F9880', X'E4B8AD',
    'ü', 'green', '{"z":"中","emoji":"😀","mark":"é̀"}',
    ST_GeomFromText('LINESTRING(0 0,1 1,2 1.5)'), ST_GeomFromText('POINT(13.4 52.5)'))`,
  // small then huge doubles; a string-looking value where another row has a number
  `(5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0.05, -0.000000000000000000000000000001,
    1.5e-45, -1.5e300, b'0', b'0', 2000,
    '2000-01-01', '00:00:00.000001', '2000-01-01 00:00:00.000001', '2000-01-01 00:00:00.001',
    '123', '0042', 'mixed', 'x', 'a\\\\b\\'c"d', 'line1\\nline2\\ttab', X'01', X'00', X'',
    'medium', 'blue,red', '[1,"two",{"three":3}]',
    ST_GeomFromText('MULTIPOINT((1 1),(2 2))'), ST_GeomFromText('POINT(0 0)'))`,
];

/** Zero dates, accepted only where the SQL mode allows them (run with sql_mode = ''). */
export const TYPE_MATRIX_ZERO_DATES = `(6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NULL, NULL, NULL, NULL, NULL, NULL, 0, '0000-00-00', NULL, '0000-00-00 00:00:00', '0000-00-00 00:00:00',
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

export function typeMatrixDdl(database: string, table: string): string {
  return `CREATE TABLE \`${database}\`.\`${table}\` (${TYPE_MATRIX_COLUMNS}) CHARACTER SET utf8mb4`;
}

export function typeMatrixInserts(database: string, table: string): string[] {
  return TYPE_MATRIX_ROWS.map((values) => `INSERT INTO \`${database}\`.\`${table}\` VALUES ${values}`);
}
