-- What students read about a course, and the print view of what they hold (issue 18).

-- name: CourseInfoByCode :one
SELECT c.id, c.code, c.title, c.title_ko, c.credits, c.description, c.course_type, c.class_year,
       c.open_to_others, c.syllabus_url, d.code AS department_code, d.name AS department_name,
       d.name_ko AS department_name_ko
FROM courses c JOIN departments d ON d.id = c.department_id
WHERE c.code = ?;

-- PrintedRegistrations are the sections a student is registered for in a term, as the
-- 수강신청 확인서 lists them.
-- name: PrintedRegistrations :many
SELECT s.id, c.code AS course_code, s.number, c.title, c.title_ko, c.credits, c.course_type,
       s.instructor, s.room, d.code AS department_code
FROM enrollments e
JOIN sections s ON s.id = e.section_id
JOIN courses c ON c.id = s.course_id
JOIN departments d ON d.id = c.department_id
WHERE e.user_id = sqlc.arg(user_id) AND e.term_id = sqlc.arg(term_id)
ORDER BY c.code, s.number;

-- name: PrintedStudent :one
SELECT u.username, u.student_number, u.display_name, u.class_year,
       d.code AS department_code, d.name AS department_name, d.name_ko AS department_name_ko
FROM users u LEFT JOIN departments d ON d.id = u.department_id
WHERE u.id = ?;
