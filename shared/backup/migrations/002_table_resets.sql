-- Sluice metadata schema, version 2: TRUNCATE and DROP TABLE applied to the index (docs/types.md, DDL).

-- The newest TRUNCATE / DROP TABLE of each table, by its binlog time (Canal's `es`, ms). Canal
-- publishes DDL to partition 0 and rows to the table's partition, so offsets cannot order them: a
-- buffered change of the table from at or before this time is written only if its row still exists
-- in MySQL (else it is written as a delete).
CREATE TABLE IF NOT EXISTS table_fences (
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT '<db>.<table>',
  fence_ts BIGINT NOT NULL COMMENT 'binlog time of the statement, ms',
  kind VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'TRUNCATE or ERASE (DROP TABLE)',
  statement TEXT NULL,
  updated_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (table_name)
) ENGINE = InnoDB;

-- Work for the owner of each shard: remove the documents of the table whose rows no longer exist.
-- Deleted when done (only if no newer fence replaced it meanwhile).
CREATE TABLE IF NOT EXISTS table_sweeps (
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  shard SMALLINT UNSIGNED NOT NULL,
  fence_ts BIGINT NOT NULL,
  created_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (shard, table_name)
) ENGINE = InnoDB;
