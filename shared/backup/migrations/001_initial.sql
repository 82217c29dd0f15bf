-- Sluice metadata schema, version 1.

-- One row per (table, primary key): the newest version seen, kept until it is flushed (state 0),
-- then marked synced (1) or dead-lettered (2) and purged after the retention time. Bounded by the
-- keys in flight, not by traffic. Partitioned by shard (the "sharded backup tables" of the design).
CREATE TABLE IF NOT EXISTS buffer_backup (
  shard SMALLINT UNSIGNED NOT NULL,
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT '<db>.<table>',
  primary_key VARCHAR(520) CHARACTER SET ascii COLLATE ascii_bin NOT NULL COMMENT 'encoded pk (= Elasticsearch _id)',
  version BIGINT UNSIGNED NOT NULL,
  operation CHAR(1) CHARACTER SET ascii NOT NULL COMMENT 'u = upsert, d = delete',
  data LONGTEXT NULL COMMENT 'document JSON; NULL for deletes',
  source_ts BIGINT NOT NULL COMMENT 'source commit time, ms',
  sync_state TINYINT UNSIGNED NOT NULL DEFAULT 0 COMMENT '0 pending, 1 synced, 2 dead-lettered',
  created_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  synced_time TIMESTAMP(3) NULL,
  PRIMARY KEY (shard, table_name, primary_key),
  KEY idx_state (sync_state, shard, updated_time)
) ENGINE = InnoDB
  PARTITION BY HASH (shard) PARTITIONS 16;

-- Highest Kafka offset applied per partition and generation: a replayed message (offset at or below
-- it) is refused before it reaches the buffer.
CREATE TABLE IF NOT EXISTS source_progress (
  topic VARCHAR(249) CHARACTER SET ascii NOT NULL,
  kafka_partition INT NOT NULL,
  generation SMALLINT UNSIGNED NOT NULL,
  applied_offset BIGINT NOT NULL,
  updated_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (topic, kafka_partition, generation)
) ENGINE = InnoDB;

-- The partition each table arrives in, per generation: versions are offsets, so a table that moves
-- to another partition without a generation bump must be stopped, not silently refused.
CREATE TABLE IF NOT EXISTS source_tables (
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  generation SMALLINT UNSIGNED NOT NULL,
  topic VARCHAR(249) CHARACTER SET ascii NOT NULL,
  kafka_partition INT NOT NULL,
  first_seen TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (table_name, generation)
) ENGINE = InnoDB;

-- One row per flush batch.
CREATE TABLE IF NOT EXISTS sync_monitor (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  shard SMALLINT UNSIGNED NOT NULL,
  sync_batch_id CHAR(36) CHARACTER SET ascii NOT NULL,
  worker VARCHAR(128) NOT NULL,
  table_names VARCHAR(1024) NOT NULL DEFAULT '',
  sync_count INT NOT NULL,
  success_count INT NOT NULL COMMENT 'written, already newer (409) or already deleted (404)',
  refused_count INT NOT NULL DEFAULT 0 COMMENT 'of which refused by Elasticsearch as older',
  retry_count INT NOT NULL DEFAULT 0,
  failure_count INT NOT NULL COMMENT 'dead-lettered',
  bytes INT NOT NULL DEFAULT 0,
  start_time TIMESTAMP(3) NOT NULL,
  end_time TIMESTAMP(3) NOT NULL,
  status VARCHAR(16) NOT NULL COMMENT 'ok, partial, failed',
  error_message TEXT NULL,
  KEY idx_start (start_time),
  KEY idx_shard_start (shard, start_time)
) ENGINE = InnoDB;

-- Messages and records that could not be processed, with the reason and where they came from.
CREATE TABLE IF NOT EXISTS dead_letter (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  created_time TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  stage VARCHAR(16) NOT NULL COMMENT 'ingest (a message) or flush (a record)',
  reason VARCHAR(64) NOT NULL,
  detail TEXT NOT NULL,
  topic VARCHAR(249) NULL,
  kafka_partition INT NULL,
  kafka_offset BIGINT NULL,
  table_name VARCHAR(192) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  primary_key VARCHAR(520) CHARACTER SET ascii COLLATE ascii_bin NULL,
  version BIGINT UNSIGNED NULL,
  payload LONGBLOB NULL COMMENT 'the raw message (ingest) or the record JSON (flush)',
  replay_count INT NOT NULL DEFAULT 0,
  replayed_time TIMESTAMP(3) NULL,
  UNIQUE KEY uk_source (stage, topic, kafka_partition, kafka_offset) COMMENT 'a redelivered message is stored once',
  KEY idx_reason (reason, created_time),
  KEY idx_created (created_time)
) ENGINE = InnoDB;
