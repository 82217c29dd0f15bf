// Why a message or a record was dead-lettered. The codes are stable: they are stored, counted in
// sluice_dlq_total{reason} and shown by `sluice dlq list`.

export const DEAD_LETTER_REASONS = {
  invalid_json: 'the message is not valid JSON',
  invalid_shape: 'the message is not a Canal flat message (a field is missing or has the wrong type)',
  unknown_type: 'the message type is not INSERT, UPDATE, DELETE, QUERY or a DDL type',
  missing_pk: 'the table has no primary key (pkNames is empty)',
  pk_column_absent: 'a primary-key column is absent or NULL in a row',
  row_too_large: 'a row image is larger than the configured limit',
  unmapped_table: 'no mapping covers the table',
  ddl_not_applied:
    'a DDL statement changed columns or renamed a table: documents of rows that do not change again keep their old shape or index (sluice backfill <db.table> writes them again)',
  truncate_not_applied:
    'TRUNCATE or DROP TABLE could not be applied (it needs SLUICE_SOURCE_MYSQL_URL): run `sluice check` and remove the documents',
  table_moved_partition:
    'the table arrived in another Kafka partition than before: bump the source generation',
  mapping_conflict:
    "a column's type conflicts with the index's existing mapping: sluice reindex <db.table> rebuilds it with the new types",
  text_undecodable:
    'a text column holds U+FFFD: Canal could not decode it in its connectionCharset (a column of another character set)',
  es_mapping_error: 'Elasticsearch refused the document (mapping or parsing error)',
  es_rejected: 'Elasticsearch refused the operation permanently',
  retries_exhausted: 'the operation kept failing with a retryable error past the retry limit',
} as const;

export type DeadLetterReason = keyof typeof DEAD_LETTER_REASONS;

export function isDeadLetterReason(value: string): value is DeadLetterReason {
  return Object.hasOwn(DEAD_LETTER_REASONS, value);
}
