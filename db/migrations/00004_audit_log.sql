-- +goose Up
-- Every staff change, written in the same transaction as the change itself, so the log
-- has exactly the changes that were kept. actor is the username at the time: the row
-- stays readable after the account is gone. details holds before/after and any reason.
CREATE TABLE audit_log (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    actor_id BIGINT NULL,
    actor VARCHAR(64) NOT NULL,
    action VARCHAR(64) NOT NULL,
    entity VARCHAR(32) NOT NULL,
    entity_id BIGINT NOT NULL DEFAULT 0,
    details JSON NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    KEY audit_log_created (created_at),
    KEY audit_log_entity (entity, entity_id),
    CONSTRAINT audit_log_actor FOREIGN KEY (actor_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE audit_log;
