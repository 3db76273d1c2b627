-- name: CurrentTerm :one
SELECT id, code, name, starts_on, ends_on, is_current
FROM terms
WHERE is_current
ORDER BY starts_on DESC
LIMIT 1;

-- name: ListDepartments :many
SELECT id, code, name FROM departments ORDER BY code;

-- SearchSections filters the term's sections; an empty keyword, a zero department or zero
-- credits means "any"; min_seats_left 1 keeps only open sections. total is the count of
-- all matches, for pagination.
-- name: SearchSections :many
SELECT sqlc.embed(s), sqlc.embed(c), d.code AS department_code,
       CAST(COUNT(*) OVER () AS SIGNED) AS total
FROM sections s
JOIN courses c ON c.id = s.course_id
JOIN departments d ON d.id = c.department_id
WHERE s.term_id = sqlc.arg(term_id)
  AND (sqlc.arg(keyword_pattern) = '%%'
       OR c.code LIKE sqlc.arg(keyword_pattern)
       OR c.title LIKE sqlc.arg(keyword_pattern)
       OR s.instructor LIKE sqlc.arg(keyword_pattern))
  AND (sqlc.arg(department_id) = 0 OR c.department_id = sqlc.arg(department_id))
  AND (sqlc.arg(credits) = 0 OR c.credits = sqlc.arg(credits))
  AND s.capacity - s.enrolled - s.held >= sqlc.arg(min_seats_left)
ORDER BY c.code, s.number
LIMIT ? OFFSET ?;

-- name: SectionsByID :many
SELECT sqlc.embed(s), sqlc.embed(c), d.code AS department_code
FROM sections s
JOIN courses c ON c.id = s.course_id
JOIN departments d ON d.id = c.department_id
WHERE s.id IN (sqlc.slice(ids))
ORDER BY c.code, s.number;

-- name: MeetingsForSections :many
SELECT section_id, weekday, start_minute, end_minute
FROM section_meetings
WHERE section_id IN (sqlc.slice(section_ids))
ORDER BY section_id, weekday, start_minute;

-- name: GetDepartment :one
SELECT id, code, name FROM departments WHERE id = ?;
