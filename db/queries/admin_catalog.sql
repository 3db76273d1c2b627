-- Staff maintenance of terms, departments and courses. Each change runs inside
-- web.audited's transaction; the *ForUpdate reads lock the row whose old values the
-- audit log keeps.

-- name: AdminListTerms :many
SELECT t.id, t.code, t.name, t.name_ko, t.starts_on, t.ends_on, t.is_current,
       CAST((SELECT COUNT(*) FROM sections s WHERE s.term_id = t.id) AS SIGNED) AS sections,
       CAST((SELECT COUNT(*) FROM registration_windows w WHERE w.term_id = t.id) AS SIGNED) AS windows
FROM terms t
ORDER BY t.starts_on DESC, t.id DESC;

-- name: GetTermForUpdate :one
SELECT id, code, name, starts_on, ends_on, is_current, name_ko FROM terms WHERE id = ? FOR UPDATE;

-- name: GetTerm :one
SELECT id, code, name, starts_on, ends_on, is_current, name_ko FROM terms WHERE id = ?;

-- name: UpdateTerm :exec
UPDATE terms SET code = ?, name = ?, name_ko = ?, starts_on = ?, ends_on = ? WHERE id = ?;

-- SetCurrentTerm makes one term current and every other one not.
-- name: SetCurrentTerm :exec
UPDATE terms SET is_current = (id = sqlc.arg(id)) WHERE is_current OR id = sqlc.arg(id);

-- name: TermDependents :one
SELECT CAST((SELECT COUNT(*) FROM sections s WHERE s.term_id = sqlc.arg(id)) AS SIGNED) AS sections,
       CAST((SELECT COUNT(*) FROM registration_windows w WHERE w.term_id = sqlc.arg(id)) AS SIGNED) AS windows,
       CAST((SELECT COUNT(*) FROM enrollments e WHERE e.term_id = sqlc.arg(id)) AS SIGNED) AS enrollments;

-- name: DeleteTerm :exec
DELETE FROM terms WHERE id = ?;

-- name: AdminListDepartments :many
SELECT d.id, d.code, d.name, d.name_ko,
       CAST((SELECT COUNT(*) FROM courses c WHERE c.department_id = d.id) AS SIGNED) AS courses
FROM departments d
ORDER BY d.code;

-- name: GetDepartmentForUpdate :one
SELECT id, code, name, name_ko FROM departments WHERE id = ? FOR UPDATE;

-- name: DepartmentByCode :one
SELECT id, code, name, name_ko FROM departments WHERE code = ?;

-- name: UpdateDepartment :exec
UPDATE departments SET code = ?, name = ?, name_ko = ? WHERE id = ?;

-- name: DepartmentDependents :one
SELECT CAST((SELECT COUNT(*) FROM courses c WHERE c.department_id = sqlc.arg(id)) AS SIGNED) AS courses,
       CAST((SELECT COUNT(*) FROM users u WHERE u.department_id = sqlc.arg(user_department_id)) AS SIGNED) AS users;

-- name: DeleteDepartment :exec
DELETE FROM departments WHERE id = ?;

-- AdminListCourses filters courses by department (0: any) and a LIKE pattern on code
-- or title ('%%': any); total counts every match, for paging.
-- name: AdminListCourses :many
SELECT c.id, c.code, c.title, c.title_ko, c.credits, c.course_type, c.class_year, c.open_to_others, d.code AS department_code,
       CAST((SELECT COUNT(*) FROM sections s WHERE s.course_id = c.id) AS SIGNED) AS sections,
       CAST(COUNT(*) OVER () AS SIGNED) AS total
FROM courses c JOIN departments d ON d.id = c.department_id
WHERE (sqlc.arg(department_id) = 0 OR c.department_id = sqlc.arg(department_id))
  AND (sqlc.arg(pattern) = '%%' OR c.code LIKE sqlc.arg(pattern) OR c.title LIKE sqlc.arg(pattern) OR c.title_ko LIKE sqlc.arg(pattern))
ORDER BY c.code
LIMIT ? OFFSET ?;

-- name: GetCourseForUpdate :one
SELECT c.id, c.department_id, c.code, c.title, c.credits, c.description
FROM courses c WHERE c.id = ? FOR UPDATE;

-- name: GetCourse :one
SELECT c.id, c.department_id, c.code, c.title, c.credits, c.description, d.code AS department_code,
       c.title_ko, c.course_type, c.class_year, c.open_to_others, c.syllabus_url, d.name AS department_name, d.name_ko AS department_name_ko
FROM courses c JOIN departments d ON d.id = c.department_id
WHERE c.id = ?;

-- name: CourseIDsByCodes :many
SELECT id, code FROM courses WHERE code IN (sqlc.slice(codes));

-- name: PrerequisiteCodes :many
SELECT p.course_id, c.code FROM course_prerequisites p JOIN courses c ON c.id = p.prerequisite_id
WHERE p.course_id IN (sqlc.slice(course_ids))
ORDER BY p.course_id, c.code;

-- name: UpdateCourse :exec
UPDATE courses SET department_id = ?, code = ?, title = ?, credits = ?, description = ?,
    title_ko = ?, course_type = ?, class_year = ?, open_to_others = ?, syllabus_url = ? WHERE id = ?;

-- name: DeletePrerequisites :exec
DELETE FROM course_prerequisites WHERE course_id = ?;

-- AllPrerequisites is the whole prerequisite graph, for the cycle check when a course's
-- prerequisites change (staff edits are rare; the graph is small).
-- name: AllPrerequisites :many
SELECT course_id, prerequisite_id FROM course_prerequisites;

-- name: CourseDependents :one
SELECT CAST((SELECT COUNT(*) FROM sections s WHERE s.course_id = sqlc.arg(id)) AS SIGNED) AS sections,
       CAST((SELECT COUNT(*) FROM course_prerequisites p WHERE p.prerequisite_id = sqlc.arg(id)) AS SIGNED) AS required_by,
       CAST((SELECT COUNT(*) FROM completed_courses cc WHERE cc.course_id = sqlc.arg(id)) AS SIGNED) AS completed;

-- name: DeleteCourse :exec
DELETE FROM courses WHERE id = ?;
