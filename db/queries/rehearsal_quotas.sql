-- The bench's rush with seat quotas on its hot sections (school bench -rush-quotas).

-- name: RehearsalQuotaState :many
SELECT q.id, q.section_id, q.class_year, q.department_id, q.capacity, q.enrolled,
       CAST((SELECT COUNT(*) FROM enrollments e WHERE e.quota_id = q.id) AS SIGNED) AS used
FROM section_quotas q WHERE q.section_id IN (sqlc.slice(ids)) ORDER BY q.section_id, q.position, q.id;

-- RehearsalOpenSeats is what the hot sections' open remainder holds: the seats the
-- quotas do not keep, and the open seats taken.
-- name: RehearsalOpenSeats :many
SELECT s.id, s.capacity, s.enrolled, s.held, s.reserved,
       CAST((SELECT COALESCE(SUM(q.capacity), 0) FROM section_quotas q WHERE q.section_id = s.id) AS SIGNED) AS quota_seats,
       CAST((SELECT COUNT(*) FROM enrollments e WHERE e.section_id = s.id AND e.quota_id IS NULL) AS SIGNED) AS open_taken
FROM sections s WHERE s.id IN (sqlc.slice(ids));

-- name: RehearsalWho :many
SELECT id, class_year, department_id FROM users WHERE id IN (sqlc.slice(ids));
