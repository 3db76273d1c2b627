-- CSV exports of enrollments for staff.

-- name: ExportSection :one
SELECT s.id, c.code AS course_code, s.number, t.code AS term_code
FROM sections s JOIN courses c ON c.id = s.course_id JOIN terms t ON t.id = s.term_id
WHERE s.id = ?;

-- name: ExportSectionEnrollments :many
SELECT u.username, u.student_number, u.display_name, u.email, u.class_year, e.source, e.created_at
FROM enrollments e JOIN users u ON u.id = e.user_id
WHERE e.section_id = ?
ORDER BY u.username;

-- name: ExportStudent :one
SELECT id, username FROM users WHERE username = ?;

-- name: ExportStudentEnrollments :many
SELECT t.code AS term_code, c.code AS course_code, s.number, c.title, c.credits, s.instructor, s.room,
       e.source, e.created_at
FROM enrollments e
JOIN sections s ON s.id = e.section_id
JOIN courses c ON c.id = e.course_id
JOIN terms t ON t.id = e.term_id
WHERE e.user_id = ?
ORDER BY t.starts_on, c.code, s.number;
