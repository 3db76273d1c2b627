-- +goose Up
-- A school event with numbered seats. Students may reserve from reserve_opens_at until
-- reserve_closes_at; seat_rows × seats_per_row is the map (row 1 is "A").
CREATE TABLE events (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(200) NOT NULL,
    description TEXT NOT NULL,
    venue VARCHAR(200) NOT NULL DEFAULT '',
    starts_at DATETIME(6) NOT NULL,
    reserve_opens_at DATETIME(6) NOT NULL,
    reserve_closes_at DATETIME(6) NOT NULL,
    seat_rows TINYINT NOT NULL,
    seats_per_row TINYINT NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    KEY events_starts (starts_at),
    CONSTRAINT events_reserve_times CHECK (reserve_opens_at < reserve_closes_at),
    CONSTRAINT events_size CHECK (seat_rows BETWEEN 1 AND 26 AND seats_per_row BETWEEN 1 AND 60)
) ENGINE=InnoDB;

-- One row per seat of the map. holder_id is the student who reserved it: one column, so
-- one student per seat; UNIQUE (event_id, holder_id), so one seat per student and event
-- (NULLs, the free seats, do not collide). A reservation is
-- UPDATE … SET holder_id = ? WHERE … AND holder_id IS NULL AND NOT blocked: 0 rows is
-- "taken", a duplicate key is "you already hold a seat". A blocked seat has no holder:
-- blocking and reserving each require the other's column clear (MariaDB allows no CHECK
-- on a column with ON DELETE SET NULL).
CREATE TABLE event_seats (
    event_id BIGINT NOT NULL,
    seat_row TINYINT NOT NULL,
    seat_number TINYINT NOT NULL,
    blocked BOOLEAN NOT NULL DEFAULT FALSE,
    holder_id BIGINT NULL,
    reserved_at DATETIME(6) NULL,
    PRIMARY KEY (event_id, seat_row, seat_number),
    UNIQUE KEY event_seats_holder (event_id, holder_id),
    KEY event_seats_user (holder_id),
    CONSTRAINT event_seats_event FOREIGN KEY (event_id) REFERENCES events (id) ON DELETE CASCADE,
    CONSTRAINT event_seats_holder_user FOREIGN KEY (holder_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB;

-- Notices are Markdown, shown to students only while published.
CREATE TABLE notices (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    title VARCHAR(200) NOT NULL,
    body TEXT NOT NULL,
    pinned BOOLEAN NOT NULL DEFAULT FALSE,
    published_at DATETIME(6) NULL,
    author_id BIGINT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    KEY notices_published (published_at),
    CONSTRAINT notices_author FOREIGN KEY (author_id) REFERENCES users (id) ON DELETE SET NULL
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE notices;
DROP TABLE event_seats;
DROP TABLE events;
