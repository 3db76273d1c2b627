-- +goose Up
-- Seat quotas within a section (학년별 / 전공자 정원): part of a section's capacity is kept
-- for a class year, a major (the student's department), or both; the rest is the open
-- remainder. class_year or department_id NULL means any. A student takes a seat of the
-- first quota (in id order, the order staff listed them) that fits them and has room,
-- else an open seat. enrolled counts the students in the quota; the section's own
-- enrolled counts everyone, so the no-oversell guarantee of sections is unchanged.
CREATE TABLE section_quotas (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    section_id BIGINT NOT NULL,
    class_year TINYINT NULL,
    department_id BIGINT NULL,
    capacity INT NOT NULL,
    enrolled INT NOT NULL DEFAULT 0,
    UNIQUE KEY section_quotas_who (section_id, class_year, department_id),
    CONSTRAINT section_quotas_section FOREIGN KEY (section_id) REFERENCES sections (id) ON DELETE CASCADE,
    CONSTRAINT section_quotas_department FOREIGN KEY (department_id) REFERENCES departments (id),
    CONSTRAINT section_quotas_class_year CHECK (class_year IS NULL OR class_year BETWEEN 1 AND 6),
    CONSTRAINT section_quotas_someone CHECK (class_year IS NOT NULL OR department_id IS NOT NULL),
    CONSTRAINT section_quotas_seats CHECK (capacity > 0 AND enrolled >= 0 AND enrolled <= capacity)
) ENGINE=InnoDB;

-- reserved is the seats of the section's quotas nobody has taken yet, the sum of their
-- capacity - enrolled, kept in the same transactions as the quotas' counters: a student
-- who takes an open seat needs enrolled + held + reserved < capacity, one row's
-- condition, as before. quota_release_at is when the quotas end: from then on (the
-- database's clock, read by the statements themselves, so no job runs at that time)
-- reserved no longer counts and every free seat is open. NULL: the quotas never end.
ALTER TABLE sections
    ADD COLUMN reserved INT NOT NULL DEFAULT 0,
    ADD COLUMN quota_release_at DATETIME(6) NULL,
    ADD CONSTRAINT sections_reserved CHECK (reserved >= 0);

-- The quota a seat came from, so a drop gives it back to the same counter. NULL: an open
-- seat (or a quota deleted since, whose seats became open).
ALTER TABLE enrollments
    ADD COLUMN quota_id BIGINT NULL,
    ADD CONSTRAINT enrollments_quota FOREIGN KEY (quota_id) REFERENCES section_quotas (id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE enrollments DROP FOREIGN KEY enrollments_quota, DROP COLUMN quota_id;
ALTER TABLE sections DROP CONSTRAINT sections_reserved, DROP COLUMN quota_release_at, DROP COLUMN reserved;
DROP TABLE section_quotas;
