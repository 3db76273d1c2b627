-- +goose Up
-- What a Korean student filters and reads a course by (issue 18, point 6).
-- course_type is 이수구분: '' while the registrar has not said. class_year is the year the
-- course is meant for (대상학년), 0 for any year. open_to_others is 타과 수강 가능: a flag
-- the catalog shows and filters by, not a registration rule. syllabus_url is the
-- 강의계획서, http or https only (the app checks the scheme; the CHECK keeps any other
-- writer honest). The *_ko columns are the Korean names beside the existing title and
-- name columns, which hold the English ones (as every school's data so far does) and stay
-- required; a page shows the name in its language and falls back to the other when one
-- is empty.
ALTER TABLE courses
    ADD COLUMN title_ko VARCHAR(200) NOT NULL DEFAULT '',
    ADD COLUMN course_type VARCHAR(24) NOT NULL DEFAULT '',
    ADD COLUMN class_year TINYINT NOT NULL DEFAULT 0,
    ADD COLUMN open_to_others BOOLEAN NOT NULL DEFAULT TRUE,
    ADD COLUMN syllabus_url VARCHAR(500) NOT NULL DEFAULT '',
    ADD CONSTRAINT courses_course_type CHECK (course_type IN ('', 'major_required', 'major_elective',
        'general_required', 'general_elective', 'free_elective', 'teacher_training')),
    ADD CONSTRAINT courses_class_year CHECK (class_year BETWEEN 0 AND 6),
    ADD CONSTRAINT courses_syllabus_url CHECK (syllabus_url = '' OR syllabus_url LIKE 'http://%' OR syllabus_url LIKE 'https://%');

ALTER TABLE departments ADD COLUMN name_ko VARCHAR(200) NOT NULL DEFAULT '';

ALTER TABLE terms ADD COLUMN name_ko VARCHAR(100) NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE terms DROP COLUMN name_ko;

ALTER TABLE departments DROP COLUMN name_ko;

ALTER TABLE courses
    DROP CONSTRAINT courses_syllabus_url,
    DROP CONSTRAINT courses_class_year,
    DROP CONSTRAINT courses_course_type,
    DROP COLUMN syllabus_url,
    DROP COLUMN open_to_others,
    DROP COLUMN class_year,
    DROP COLUMN course_type,
    DROP COLUMN title_ko;
