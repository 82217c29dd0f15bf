-- Sluice metadata schema, version 3: checkpoints of re-sync jobs (sluice backfill).

-- One row per table and kind of job: the last primary key done (JSON array of the key's values as
-- read), rows so far, when it started and finished. Saved after every chunk.
CREATE TABLE IF NOT EXISTS resync_jobs (
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT '<db>.<table>',
  kind VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'backfill',
  after_key MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL COMMENT 'JSON: last key done',
  rows_done BIGINT NOT NULL DEFAULT 0,
  started_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  finished_time TIMESTAMP(3) NULL,
  PRIMARY KEY (table_name, kind)
) ENGINE = InnoDB;
