-- +goose Up
-- Registration answers per minute and result, summed over every replica. A replica counts
-- in memory and adds its counts here every few seconds in one statement, so a registration
-- writes nothing of its own and every replica's dashboard reads the same figures.
CREATE TABLE registration_minutes (
    minute_at DATETIME NOT NULL,
    result VARCHAR(16) NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (minute_at, result)
) ENGINE=InnoDB;

-- How long registration requests took, per minute, as a histogram: le_ms is the bucket's
-- upper bound in milliseconds. Percentiles come from the buckets summed over replicas.
CREATE TABLE registration_latency_minutes (
    minute_at DATETIME NOT NULL,
    le_ms INT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (minute_at, le_ms)
) ENGINE=InnoDB;

-- The dashboard's hottest sections are those with the most seats taken lately.
ALTER TABLE enrollments ADD KEY enrollments_created (created_at, section_id);

-- A CSV import between its preview and its end. The file waits here (not on the replica
-- that previewed it) so the confirmation may land on any replica; done is updated outside
-- the import's transaction so that every replica can show the progress.
CREATE TABLE import_jobs (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    kind ENUM('catalog', 'transcripts') NOT NULL,
    state ENUM('ready', 'running', 'done', 'failed') NOT NULL DEFAULT 'ready',
    file_name VARCHAR(255) NOT NULL,
    content MEDIUMBLOB NOT NULL,
    total INT NOT NULL,
    done INT NOT NULL DEFAULT 0,
    -- What the preview found and, once done, what the import did (counts by kind of row).
    summary JSON NOT NULL,
    -- Rows refused when the import ran (the data changed since the preview).
    problems JSON NOT NULL DEFAULT ('[]'),
    created_by BIGINT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    KEY import_jobs_created (created_at),
    CONSTRAINT import_jobs_created_by FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE import_jobs;
ALTER TABLE enrollments DROP KEY enrollments_created;
DROP TABLE registration_latency_minutes;
DROP TABLE registration_minutes;
