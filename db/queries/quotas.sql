-- Seat quotas within a section (section_quotas). The lock order of a registration that
-- takes a quota seat is the student's row, then the quota's, then the section's; every
-- writer of quotas keeps it (a drop gives the quota seat back before it locks the
-- section, staff lock a section's quotas before the section). A section's quotas are
-- locked in the order a seat is chosen (position, then id), as a registration tries them.

-- TakeQuotaSeat is the quota's no-oversell condition: 0 rows affected means the quota is
-- full.
-- name: TakeQuotaSeat :execrows
UPDATE section_quotas SET enrolled = enrolled + 1 WHERE id = ? AND enrolled < capacity;

-- TakeReservedSeat is the section's side of a quota seat: the seat was reserved, so it
-- stops being.
-- name: TakeReservedSeat :execrows
UPDATE sections SET enrolled = enrolled + 1, reserved = reserved - 1
WHERE id = ? AND enrolled + held < capacity AND reserved > 0;

-- name: GiveBackQuotaSeat :execrows
UPDATE section_quotas SET enrolled = enrolled - 1 WHERE id = ? AND enrolled > 0;

-- FreeQuotaSeat frees a quota seat in the section's counters: it is reserved again (and,
-- after the release time, held for the waitlist when hold is 1, as any seat).
-- name: FreeQuotaSeat :exec
UPDATE sections SET enrolled = enrolled - 1, held = held + sqlc.arg(hold), reserved = reserved + 1 WHERE id = sqlc.arg(id);

-- name: InsertQuotaEnrollment :exec
INSERT INTO enrollments (user_id, section_id, course_id, term_id, source, quota_id) VALUES (?, ?, ?, ?, ?, ?);

-- LockSectionSeats locks the section's row and reads its seats with the quotas' reserve
-- as it counts now: reserved is 0 once the quotas are released.
-- name: LockSectionSeats :one
SELECT id, capacity, enrolled, held,
       CAST(IF(quota_release_at <= NOW(6), 0, reserved) AS SIGNED) AS reserved,
       CAST(COALESCE(quota_release_at <= NOW(6), FALSE) AS SIGNED) AS released
FROM sections WHERE id = ? FOR UPDATE;

-- LockStudentForDrop locks the student's row and reads, in the same round trip, the quota
-- their seat in the section came from (a plain read of their own row, under their lock).
-- name: LockStudentForDrop :one
SELECT u.id, u.role, u.class_year, u.credit_limit,
       (SELECT e.quota_id FROM enrollments e WHERE e.user_id = u.id AND e.section_id = sqlc.arg(section_id)) AS quota_id
FROM users u WHERE u.id = sqlc.arg(id)
FOR UPDATE;

-- name: EnrollmentQuota :one
SELECT quota_id FROM enrollments WHERE user_id = ? AND section_id = ?;

-- StaffQuotaFor is the quota a staff enrollment takes the student's seat from: the first
-- of the section's quotas, while they hold, that fits the student and has room.
-- name: StaffQuotaFor :one
SELECT q.id FROM section_quotas q
JOIN sections s ON s.id = q.section_id
JOIN users u ON u.id = sqlc.arg(user_id)
WHERE q.section_id = sqlc.arg(section_id) AND q.enrolled < q.capacity
  AND NOT COALESCE(s.quota_release_at <= NOW(6), FALSE)
  AND (q.class_year IS NULL OR q.class_year = u.class_year)
  AND (q.department_id IS NULL OR q.department_id = u.department_id)
ORDER BY q.position, q.id LIMIT 1;

-- name: SectionQuotas :many
SELECT q.id, q.class_year, q.department_id, COALESCE(d.code, '') AS department_code, q.capacity, q.enrolled, q.position
FROM section_quotas q LEFT JOIN departments d ON d.id = q.department_id
WHERE q.section_id = ? ORDER BY q.position, q.id;

-- LockSectionQuotas locks the section's quotas before its row (the lock order).
-- name: LockSectionQuotas :many
SELECT id FROM section_quotas WHERE section_id = ? ORDER BY position, id FOR UPDATE;

-- name: InsertSectionQuota :exec
INSERT INTO section_quotas (section_id, class_year, department_id, capacity, position) VALUES (?, ?, ?, ?, ?);

-- name: SetSectionQuota :exec
UPDATE section_quotas SET capacity = ?, position = ? WHERE id = ?;

-- name: DeleteSectionQuota :exec
DELETE FROM section_quotas WHERE id = ?;

-- SetSectionReserve writes the release time and recounts reserved from the quotas, which
-- the caller has locked.
-- name: SetSectionReserve :exec
UPDATE sections s SET s.quota_release_at = sqlc.arg(release_at),
       s.reserved = (SELECT CAST(COALESCE(SUM(q.capacity - q.enrolled), 0) AS SIGNED) FROM section_quotas q WHERE q.section_id = s.id)
WHERE s.id = sqlc.arg(id);

-- QuotaSeats reads the live counters of the quotas of the sections a catalog page shows,
-- while they hold.
-- name: QuotaSeats :many
SELECT q.id, q.section_id, q.enrolled FROM section_quotas q JOIN sections s ON s.id = q.section_id
WHERE q.section_id IN (sqlc.slice(ids)) AND NOT COALESCE(s.quota_release_at <= NOW(6), FALSE);

-- name: SectionQuotaRelease :one
SELECT quota_release_at FROM sections WHERE id = ?;

-- name: StudentDepartment :one
SELECT department_id FROM users WHERE id = ?;
