// Hostile Canal messages: malformed ones that must be dead-lettered with a precise reason, and
// awkward but valid ones that must be applied exactly. Used by the hostile-input test and by
// `node test/chaos/hostile.ts <topic>` to throw them at a running pipeline by hand.

export interface HostileMessage {
  label: string;
  value: Buffer | null;
  /**
   * 'dlq:<reason>' for messages that must be dead-lettered, 'apply' for valid ones, 'none' for
   * statements with nothing to apply (counted, never dead-lettered).
   */
  expect: `dlq:${string}` | 'apply' | 'none';
  /** For applied messages: the table and document id they write. */
  table?: string;
  id?: string;
}

export interface HostileOptions {
  database: string;
  /** A table the mapping indexes, with an integer field `n` in its explicit mapping. */
  table: string;
  /** A table no mapping rule covers (the mapping dead-letters unmapped tables). */
  unmappedTable: string;
  /** Largest row accepted (SLUICE_MAX_ROW_BYTES). */
  maxRowBytes: number;
}

function flat(options: HostileOptions, fields: Record<string, unknown>): Buffer {
  return Buffer.from(
    JSON.stringify({
      data: [{ id: '1', name: 'x', n: '1' }],
      database: options.database,
      es: Date.now(),
      gtid: '',
      id: 1,
      isDdl: false,
      mysqlType: { id: 'varchar(40)', name: 'varchar(200)', n: 'int(11)' },
      old: null,
      pkNames: ['id'],
      sql: '',
      sqlType: { id: 12, name: 12, n: 4 },
      table: options.table,
      ts: Date.now(),
      type: 'INSERT',
      ...fields,
    }),
  );
}

export function hostileMessages(options: HostileOptions): HostileMessage[] {
  const row = (id: string, extra: Record<string, string | null> = {}) => ({
    id,
    name: `row ${id}`,
    n: '7',
    ...extra,
  });
  const apply = (label: string, id: string, fields: Record<string, unknown>): HostileMessage => ({
    label,
    value: flat(options, fields),
    expect: 'apply',
    table: options.table,
    id,
  });
  const big = (bytes: number) => 'x'.repeat(bytes);
  return [
    { label: 'not JSON', value: Buffer.from('{"data": [ {oops'), expect: 'dlq:invalid_json' },
    {
      label: 'binary garbage',
      value: Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x7b]),
      expect: 'dlq:invalid_json',
    },
    { label: 'a JSON array', value: Buffer.from('[1,2,3]'), expect: 'dlq:invalid_shape' },
    { label: 'empty message (Kafka tombstone)', value: null, expect: 'dlq:invalid_shape' },
    { label: 'type is a number', value: flat(options, { type: 42 }), expect: 'dlq:invalid_shape' },
    { label: 'data is a string', value: flat(options, { data: 'rows' }), expect: 'dlq:invalid_shape' },
    {
      label: 'a column value is a number',
      value: flat(options, { data: [{ id: 1, name: 'x' }] }),
      expect: 'dlq:invalid_shape',
    },
    { label: 'es is not a number', value: flat(options, { es: 'yesterday' }), expect: 'dlq:invalid_shape' },
    {
      label: 'mysqlType holds numbers',
      value: flat(options, { mysqlType: { id: 4 } }),
      expect: 'dlq:invalid_shape',
    },
    { label: 'no pkNames', value: flat(options, { pkNames: null }), expect: 'dlq:missing_pk' },
    {
      label: 'pk column absent from data',
      value: flat(options, { data: [{ name: 'no id' }] }),
      expect: 'dlq:pk_column_absent',
    },
    {
      label: 'pk value NULL',
      value: flat(options, { data: [{ id: null, name: 'x' }] }),
      expect: 'dlq:pk_column_absent',
    },
    { label: 'unknown type', value: flat(options, { type: 'UPSERT' }), expect: 'dlq:unknown_type' },
    {
      label: 'DDL',
      value: flat(options, {
        isDdl: true,
        type: 'ALTER',
        sql: `ALTER TABLE ${options.table} ADD c INT`,
        data: null,
        pkNames: null,
      }),
      expect: 'dlq:ddl_not_applied',
    },
    {
      // A table no rule maps: nothing to apply, and not a dead letter (TRUNCATE / DROP of mapped
      // tables remove their documents: test/e2e/ddl.test.ts).
      label: 'TRUNCATE of an unmapped table',
      value: flat(options, {
        isDdl: true,
        type: 'TRUNCATE',
        table: options.unmappedTable,
        sql: `TRUNCATE TABLE ${options.unmappedTable}`,
        data: null,
        pkNames: null,
      }),
      expect: 'none',
    },
    {
      label: 'a row above the size limit',
      value: flat(options, { data: [row('900', { name: big(options.maxRowBytes + 1024) })] }),
      expect: 'dlq:row_too_large',
    },
    {
      label: 'an unmapped table',
      value: flat(options, { table: options.unmappedTable }),
      expect: 'dlq:unmapped_table',
    },
    {
      label: 'a value of the wrong type for the index mapping (n is an integer there)',
      value: flat(options, {
        data: [row('950', { n: null })],
        mysqlType: { id: 'varchar(40)', name: 'varchar(200)', n: 'varchar(20)' },
      }),
      expect: 'apply',
      table: options.table,
      id: '950',
    },
    {
      label: 'a value Elasticsearch refuses for the mapping',
      value: flat(options, {
        data: [row('951', { n: 'not-a-number' })],
        mysqlType: { id: 'varchar(40)', name: 'varchar(200)', n: 'varchar(20)' },
      }),
      expect: 'dlq:es_mapping_error',
    },
    apply('a large row under the limit', '910', {
      data: [row('910', { name: big(Math.min(2 * 1024 * 1024, options.maxRowBytes - 4096)) })],
    }),
    apply('prototype-named columns', '920', {
      data: [
        JSON.parse(
          '{"id":"920","name":"proto","n":"1","__proto__":"p","constructor":"c","hasOwnProperty":"h"}',
        ),
      ],
      mysqlType: JSON.parse(
        '{"id":"varchar(40)","name":"varchar(200)","n":"int(11)","__proto__":"varchar(9)","constructor":"varchar(9)","hasOwnProperty":"varchar(9)"}',
      ),
    }),
    apply('separators in the key', 'a:b|c{d} e~f', {
      data: [row('a:b|c{d} e~f')],
      mysqlType: { id: 'varchar(40)', name: 'varchar(200)', n: 'int(11)' },
    }),
    apply('control characters in the key', 'tab\tnl\nnul\u0000', {
      data: [row('tab\tnl\nnul\u0000')],
      mysqlType: { id: 'varchar(40)', name: 'varchar(200)', n: 'int(11)' },
    }),
    apply('non-ASCII key and values', 'ключ-键-🔑', {
      data: [row('ключ-键-🔑', { name: 'ünïcödé 名前 😀' })],
      mysqlType: { id: 'varchar(40)', name: 'varchar(200)', n: 'int(11)' },
    }),
  ];
}

/** Valid rows interleaved with the hostile ones: ids v1…vN. */
export function validMessage(options: HostileOptions, index: number): HostileMessage {
  const id = `v${index}`;
  return {
    label: `valid ${id}`,
    value: flat(options, {
      data: [{ id, name: `valid ${index}`, n: String(index) }],
      mysqlType: { id: 'varchar(40)', name: 'varchar(200)', n: 'int(11)' },
    }),
    expect: 'apply',
    table: options.table,
    id,
  };
}
