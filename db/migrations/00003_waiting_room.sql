-- +goose Up
-- Waiting-room settings per registration window, set by staff.
ALTER TABLE registration_windows
    ADD COLUMN queue_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN prequeue_opens_at DATETIME(6) NULL,
    ADD COLUMN max_active INT NOT NULL DEFAULT 500,
    ADD COLUMN admit_per_second DOUBLE NOT NULL DEFAULT 50,
    ADD COLUMN pass_seconds INT NOT NULL DEFAULT 1200,
    ADD COLUMN idle_seconds INT NOT NULL DEFAULT 300,
    ADD COLUMN grace_seconds INT NOT NULL DEFAULT 60,
    ADD COLUMN paused BOOLEAN NOT NULL DEFAULT FALSE,
    ADD CONSTRAINT registration_windows_queue CHECK (max_active >= 0 AND admit_per_second >= 0
        AND pass_seconds > 0 AND idle_seconds > 0 AND grace_seconds > 0);

-- One row per queued window: the admission cursor every replica advances in turn, under
-- this row's lock. The shuffle seed is committed (its SHA-256) when the first ticket of the
-- pre-queue is taken, and shown to staff once the pre-queue is ordered, so they can show
-- the order came from a seed fixed before anyone arrived.
CREATE TABLE waiting_room_state (
    window_id BIGINT NOT NULL PRIMARY KEY,
    shuffle_commitment CHAR(64) NOT NULL,
    shuffle_seed CHAR(64) NOT NULL,
    shuffled_at DATETIME(6) NULL,
    last_position BIGINT NOT NULL DEFAULT 0,
    admit_credit DOUBLE NOT NULL DEFAULT 0,
    last_tick_at DATETIME(6) NULL,
    admitted_total BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT waiting_room_state_window FOREIGN KEY (window_id) REFERENCES registration_windows (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- One place per student and window, whatever the tabs or devices. position stays NULL
-- until the place is ordered: at opening for the pre-queue (shuffled), by arrival after.
CREATE TABLE waiting_room_tickets (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    window_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL,
    prequeue BOOLEAN NOT NULL,
    position BIGINT NULL,
    state ENUM('waiting', 'admitted', 'done', 'expired') NOT NULL DEFAULT 'waiting',
    joined_at DATETIME(6) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    admitted_at DATETIME(6) NULL,
    pass_expires_at DATETIME(6) NULL,
    -- changed_at moves when position or state does (not with last_seen_at): replicas
    -- refresh their cache of places from it.
    changed_at DATETIME(6) NOT NULL,
    UNIQUE KEY waiting_room_tickets_window_user (window_id, user_id),
    UNIQUE KEY waiting_room_tickets_window_position (window_id, position),
    KEY waiting_room_tickets_state (window_id, state, position),
    KEY waiting_room_tickets_changed (window_id, changed_at),
    KEY waiting_room_tickets_admitted (window_id, admitted_at),
    -- Abandoned places are found by when they were last seen, not by scanning the room.
    KEY waiting_room_tickets_seen (window_id, state, last_seen_at),
    CONSTRAINT waiting_room_tickets_window FOREIGN KEY (window_id) REFERENCES registration_windows (id) ON DELETE CASCADE,
    CONSTRAINT waiting_room_tickets_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- Keys every replica shares, made once (the waiting-room pass signing key).
CREATE TABLE app_secrets (
    name VARCHAR(32) NOT NULL PRIMARY KEY,
    value VARBINARY(64) NOT NULL
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE app_secrets;
DROP TABLE waiting_room_tickets;
DROP TABLE waiting_room_state;
ALTER TABLE registration_windows
    DROP CONSTRAINT registration_windows_queue,
    DROP COLUMN queue_enabled, DROP COLUMN prequeue_opens_at, DROP COLUMN max_active,
    DROP COLUMN admit_per_second, DROP COLUMN pass_seconds, DROP COLUMN idle_seconds,
    DROP COLUMN grace_seconds, DROP COLUMN paused;
