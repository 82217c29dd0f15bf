-- Sluice metadata schema, version 4: reports of consistency checks (sluice check, the nightly check).

-- One row per run of the check.
CREATE TABLE IF NOT EXISTS check_runs (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  trigger_kind VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'cli or nightly',
  schedule_key VARCHAR(128) CHARACTER SET ascii NULL COMMENT 'the scheduled job (nightly): one run per tick',
  started_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  finished_time TIMESTAMP(3) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_schedule (schedule_key)
) ENGINE = InnoDB;

-- Per table of a run: counts of rows, documents and differences after the second look.
CREATE TABLE IF NOT EXISTS check_tables (
  run_id BIGINT UNSIGNED NOT NULL,
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  index_name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  rows_count BIGINT NOT NULL,
  docs_count BIGINT NOT NULL,
  missing BIGINT NOT NULL,
  stale BIGINT NOT NULL,
  extra BIGINT NOT NULL,
  settled BIGINT NOT NULL COMMENT 'differences in step at the second look (changed during the check)',
  truncated TINYINT NOT NULL COMMENT '1: more differences than ids kept',
  duration_ms BIGINT NOT NULL,
  checked_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (run_id, table_name)
) ENGINE = InnoDB;

-- The differing ids of a table in a run (up to the ids kept): what sluice repair --from-last-check repairs.
CREATE TABLE IF NOT EXISTS check_differences (
  run_id BIGINT UNSIGNED NOT NULL,
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  doc_id VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  kind VARCHAR(8) CHARACTER SET ascii NOT NULL COMMENT 'missing, stale or extra',
  PRIMARY KEY (run_id, table_name, doc_id)
) ENGINE = InnoDB;
