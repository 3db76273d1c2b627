-- +goose Up
-- Arrival order is a number the database hands out inside the statement that takes or
-- retakes a place (NEXTVAL of one sequence: monotonic whatever the replica or its clock),
-- not a time the app took before its transaction. The default cache keeps NEXTVAL off the
-- disk; a restart skips the cached numbers, which leaves gaps, never a reordering.
-- INCREMENT BY 0 steps by auto_increment_increment (1 on one server): Galera refuses a
-- cached sequence otherwise, and a node taking over the writes continues after the range
-- the old writer had reserved, so the order holds across a failover too.
CREATE SEQUENCE waiting_room_arrivals INCREMENT BY 0;

-- The shuffle seed is no longer stored before the opening: the app derives it from a
-- secret only the app holds (HMAC over the window and shuffle_nonce), publishes its
-- SHA-256 (shuffle_commitment) when the room is enabled, and writes the seed here at the
-- opening, when it is revealed. shuffle_position is a place's rank in that shuffle, kept
-- when the place is later lost and taken again, so the whole shuffle can be recomputed.
-- failed_ticks counts admission ticks that failed, for the staff page.
ALTER TABLE waiting_room_state
    MODIFY shuffle_seed CHAR(64) NULL,
    ADD COLUMN shuffle_nonce CHAR(32) NULL,
    ADD COLUMN failed_ticks BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN last_failed_tick_at DATETIME(6) NULL;

ALTER TABLE waiting_room_tickets
    ADD COLUMN arrival BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN shuffle_position BIGINT NULL,
    -- Passes that ended are found without walking every admitted place.
    ADD KEY waiting_room_tickets_pass (window_id, state, pass_expires_at);

-- +goose Down
ALTER TABLE waiting_room_tickets
    DROP KEY waiting_room_tickets_pass,
    DROP COLUMN shuffle_position,
    DROP COLUMN arrival;
UPDATE waiting_room_state SET shuffle_seed = REPEAT('0', 64) WHERE shuffle_seed IS NULL;
ALTER TABLE waiting_room_state
    DROP COLUMN last_failed_tick_at,
    DROP COLUMN failed_ticks,
    DROP COLUMN shuffle_nonce,
    MODIFY shuffle_seed CHAR(64) NOT NULL;
DROP SEQUENCE waiting_room_arrivals;
