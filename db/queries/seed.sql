-- Rows the seed writes one at a time; the large tables go through Queries.BulkInsert.

-- name: InsertDepartment :execlastid
INSERT INTO departments (code, name, name_ko) VALUES (?, ?, ?);

-- name: InsertTerm :execlastid
INSERT INTO terms (code, name, name_ko, starts_on, ends_on, is_current) VALUES (?, ?, ?, ?, ?, ?);

-- name: InsertCourse :execlastid
INSERT INTO courses (department_id, code, title, credits, description, title_ko, course_type, class_year, open_to_others, syllabus_url)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: InsertPrerequisite :exec
INSERT INTO course_prerequisites (course_id, prerequisite_id) VALUES (?, ?);

-- name: CountUsers :one
SELECT COUNT(*) FROM users;

-- name: ListUserIDs :many
SELECT id, username FROM users;

-- name: ListTermSectionIDs :many
SELECT id, course_id, number FROM sections WHERE term_id = ?;

-- name: InsertRegistrationWindow :execlastid
INSERT INTO registration_windows (term_id, class_year, phase, opens_at, closes_at) VALUES (?, ?, ?, ?, ?);
