-- The registration catalog snapshot (registration.Catalog): what a replica keeps in memory
-- because it changes only when staff change it, and the version that says when it did.

-- BumpCatalogVersion is the last statement of every transaction that writes terms,
-- windows, departments, courses, prerequisites, sections' static columns or meetings: it
-- tells every replica to reload. It comes last so that the one row is locked only
-- until the commit that follows.
-- name: BumpCatalogVersion :exec
UPDATE catalog_version SET version = version + 1 WHERE id = 1;

-- name: CatalogVersion :one
SELECT version FROM catalog_version WHERE id = 1;

-- name: CatalogSections :many
SELECT s.id, s.course_id, s.term_id, s.number, s.instructor, s.room, s.quota_release_at,
       c.code AS course_code, c.title, c.credits, d.code AS department_code, t.is_current,
       c.title_ko, c.course_type, c.class_year, c.open_to_others
FROM sections s
JOIN courses c ON c.id = s.course_id
JOIN departments d ON d.id = c.department_id
JOIN terms t ON t.id = s.term_id;

-- name: CatalogMeetings :many
SELECT section_id, weekday, start_minute, end_minute
FROM section_meetings
ORDER BY section_id, weekday, start_minute;

-- name: CatalogPrerequisites :many
SELECT p.course_id, p.prerequisite_id, c.code
FROM course_prerequisites p JOIN courses c ON c.id = p.prerequisite_id
ORDER BY p.course_id, c.code;

-- CatalogWindows are the windows in which students register, drop and wait; the basket
-- phase's are not registration's business.
-- name: CatalogWindows :many
SELECT term_id, class_year, opens_at, closes_at
FROM registration_windows
WHERE phase IN ('registration', 'add_drop');

-- CatalogQuotas are the sections' seat quotas, in the order a student's seat is chosen.
-- name: CatalogQuotas :many
SELECT q.id, q.section_id, q.class_year, q.department_id, q.capacity, COALESCE(d.code, '') AS department_code
FROM section_quotas q LEFT JOIN departments d ON d.id = q.department_id
ORDER BY q.section_id, q.position, q.id;
