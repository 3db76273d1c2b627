-- CSV imports: the jobs between preview and end, and the catalog as an import sees it.

-- name: CreateImportJob :execlastid
INSERT INTO import_jobs (kind, file_name, content, total, summary, created_by)
VALUES (?, ?, ?, ?, ?, ?);

-- name: GetImportJob :one
SELECT id, kind, state, file_name, total, done, summary, problems, created_by, created_at, updated_at
FROM import_jobs WHERE id = ?;

-- name: ImportJobContent :one
SELECT content FROM import_jobs WHERE id = ?;

-- name: StartImportJob :execrows
-- Only one confirmation runs a job, whichever replica it lands on.
UPDATE import_jobs SET state = 'running', done = 0 WHERE id = ? AND state = 'ready';

-- name: ImportJobProgress :exec
UPDATE import_jobs SET done = ? WHERE id = ?;

-- name: FinishImportJob :exec
-- The file is not kept once the job has ended.
UPDATE import_jobs SET state = ?, done = ?, summary = ?, problems = ?, content = '' WHERE id = ?;

-- name: RecentImportJobs :many
SELECT id, kind, state, file_name, total, done, created_at, updated_at
FROM import_jobs ORDER BY id DESC LIMIT 10;

-- name: DeleteStaleImportJobs :exec
DELETE FROM import_jobs WHERE state = 'ready' AND created_at < ?;

-- name: ImportDepartments :many
SELECT id, code FROM departments;

-- name: ImportTerms :many
SELECT id, code FROM terms;

-- name: ImportCourses :many
SELECT id, code, department_id, title, credits, title_ko, course_type, class_year, open_to_others, description, syllabus_url
FROM courses WHERE code IN (sqlc.slice(codes));

-- name: ImportSections :many
-- Existing sections of the named terms, with what a new capacity must leave room for.
SELECT s.id, c.code AS course_code, t.code AS term_code, s.number, s.instructor, s.room, s.capacity,
       s.enrolled, s.held
FROM sections s JOIN courses c ON c.id = s.course_id JOIN terms t ON t.id = s.term_id
WHERE t.code IN (sqlc.slice(term_codes));

-- name: SectionsOfCourses :many
SELECT id, course_id, term_id, number FROM sections WHERE course_id IN (sqlc.slice(course_ids));

-- name: UpdateImportedCourse :exec
UPDATE courses SET department_id = ?, title = ?, credits = ?, title_ko = ?, course_type = ?, class_year = ?,
    open_to_others = ?, description = ?, syllabus_url = ? WHERE id = ?;

-- name: UpdateImportedSection :exec
-- The capacity changes through ResizeSection (registration.Resize).
UPDATE sections SET instructor = ?, room = ? WHERE id = ?;

-- name: DeleteMeetingsOfSections :exec
DELETE FROM section_meetings WHERE section_id IN (sqlc.slice(ids));

-- name: ImportStudents :many
SELECT id, username FROM users WHERE role = 'student' AND username IN (sqlc.slice(usernames));
