-- Sluice metadata schema, version 5: reindex jobs (sluice reindex).

-- One row per index (alias) being rebuilt or rebuilt before. While a job is `building`, every worker
-- writes the alias's changes to its target as well (each flush batch reads this table after taking
-- its records, so a change taken after the job started always reaches the target). after_key is the
-- checkpoint of the rebuild: {"table": "<db>.<table>", "key": [...]} of the last chunk written.
CREATE TABLE IF NOT EXISTS reindex_jobs (
  alias_name VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  source_index VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL
    COMMENT 'what the alias named when the job started (NULL: nothing; the alias itself: a legacy index)',
  target_index VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  state VARCHAR(16) CHARACTER SET ascii NOT NULL COMMENT 'building | done | aborted',
  after_key MEDIUMTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  rows_done BIGINT NOT NULL DEFAULT 0,
  error TEXT NULL,
  started_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  finished_time TIMESTAMP(3) NULL,
  PRIMARY KEY (alias_name),
  KEY by_state (state)
) ENGINE = InnoDB;
