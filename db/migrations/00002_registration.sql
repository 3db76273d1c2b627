-- +goose Up
-- Registration windows say who may do what when. class_year NULL means every year.
-- basket: the wish list may be edited; registration and add_drop: register, drop, waitlist.
CREATE TABLE registration_windows (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    term_id BIGINT NOT NULL,
    class_year TINYINT NULL,
    phase ENUM('basket', 'registration', 'add_drop') NOT NULL,
    opens_at DATETIME(6) NOT NULL,
    closes_at DATETIME(6) NOT NULL,
    KEY registration_windows_term (term_id, opens_at),
    CONSTRAINT registration_windows_term FOREIGN KEY (term_id) REFERENCES terms (id),
    CONSTRAINT registration_windows_times CHECK (opens_at < closes_at),
    CONSTRAINT registration_windows_class_year CHECK (class_year IS NULL OR class_year BETWEEN 1 AND 6)
) ENGINE=InnoDB;

-- held counts seats freed while students wait for them: a walk-in may take a seat only
-- when enrolled + held < capacity, so a freed seat goes to the waitlist first.
ALTER TABLE sections
    ADD COLUMN held INT NOT NULL DEFAULT 0,
    ADD CONSTRAINT sections_held CHECK (held >= 0 AND enrolled + held <= capacity);

-- One row per seat taken. The UNIQUE keys are the last line of defence: one seat per
-- student and section, one section per student and course in a term.
CREATE TABLE enrollments (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    section_id BIGINT NOT NULL,
    course_id BIGINT NOT NULL,
    term_id BIGINT NOT NULL,
    source ENUM('register', 'waitlist', 'staff') NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    UNIQUE KEY enrollments_user_section (user_id, section_id),
    UNIQUE KEY enrollments_user_course_term (user_id, course_id, term_id),
    KEY enrollments_section (section_id),
    KEY enrollments_user_term (user_id, term_id),
    CONSTRAINT enrollments_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT enrollments_section FOREIGN KEY (section_id) REFERENCES sections (id),
    CONSTRAINT enrollments_course FOREIGN KEY (course_id) REFERENCES courses (id),
    CONSTRAINT enrollments_term FOREIGN KEY (term_id) REFERENCES terms (id)
) ENGINE=InnoDB;

-- Waitlist order is id order: the database numbers every join, whatever the replicas'
-- clocks say, and a rejoin is a new row at the back. A skipped entry keeps its reason.
CREATE TABLE waitlist_entries (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    section_id BIGINT NOT NULL,
    status ENUM('waiting', 'enrolled', 'skipped', 'left') NOT NULL DEFAULT 'waiting',
    reason VARCHAR(32) NOT NULL DEFAULT '',
    joined_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
    UNIQUE KEY waitlist_entries_user_section (user_id, section_id),
    KEY waitlist_entries_queue (section_id, status, id),
    CONSTRAINT waitlist_entries_user FOREIGN KEY (user_id) REFERENCES users (id),
    CONSTRAINT waitlist_entries_section FOREIGN KEY (section_id) REFERENCES sections (id)
) ENGINE=InnoDB;

CREATE TABLE basket_items (
    user_id BIGINT NOT NULL,
    section_id BIGINT NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (user_id, section_id),
    CONSTRAINT basket_items_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT basket_items_section FOREIGN KEY (section_id) REFERENCES sections (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- The answer given to a request that carried an idempotency key: a retried request gets
-- the first answer back instead of acting twice.
CREATE TABLE registration_requests (
    user_id BIGINT NOT NULL,
    request_key VARCHAR(64) NOT NULL,
    action ENUM('register', 'drop', 'waitlist', 'leave') NOT NULL,
    section_id BIGINT NOT NULL,
    result VARCHAR(16) NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (user_id, request_key),
    CONSTRAINT registration_requests_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- +goose Down
DROP TABLE registration_requests;
DROP TABLE basket_items;
DROP TABLE waitlist_entries;
DROP TABLE enrollments;
ALTER TABLE sections DROP CONSTRAINT sections_held, DROP COLUMN held;
DROP TABLE registration_windows;
