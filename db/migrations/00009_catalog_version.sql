-- +goose Up
-- catalog_version numbers the state of what each replica keeps in memory for registration:
-- terms, registration windows, departments' codes, courses, sections' static columns
-- (course, term, number, instructor, room), meeting times and prerequisites. Every writer
-- of those tables bumps it in its own transaction; replicas compare it with their copy's and
-- reload when it has moved. Seats (enrolled, held, capacity) are not part of it: they are
-- always read live, so the registration transaction's UPDATE of them bumps nothing.
CREATE TABLE catalog_version (
    id TINYINT NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL,
    CONSTRAINT catalog_version_one_row CHECK (id = 1)
) ENGINE=InnoDB;

INSERT INTO catalog_version (id, version) VALUES (1, 1);

-- +goose Down
DROP TABLE catalog_version;
