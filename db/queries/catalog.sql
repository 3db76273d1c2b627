-- name: CurrentTerm :one
SELECT id, code, name, starts_on, ends_on, is_current, name_ko
FROM terms
WHERE is_current
ORDER BY starts_on DESC
LIMIT 1;

-- name: ListDepartments :many
SELECT id, code, name, name_ko FROM departments ORDER BY code;

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
SELECT id, code, name, name_ko FROM departments WHERE id = ?;

-- SectionSeats reads the live seats of the sections a catalog page shows; what the
-- sections are comes from the registration catalog in memory. reserved is the seats kept
-- for quotas nobody has taken, 0 once the quotas are released (registration/quota.go).
-- name: SectionSeats :many
SELECT id, capacity, enrolled, held, CAST(IF(quota_release_at <= NOW(6), 0, reserved) AS SIGNED) AS reserved
FROM sections WHERE id IN (sqlc.slice(ids));

-- OpenSectionIDs lists the term's sections with a seat left, as SectionSeats counts them:
-- a seat held for the waitlist is taken, and so is one kept for a quota until the quotas
-- are released.
-- name: OpenSectionIDs :many
SELECT id FROM sections
WHERE term_id = ? AND capacity - enrolled - held - IF(quota_release_at <= NOW(6), 0, reserved) > 0;
