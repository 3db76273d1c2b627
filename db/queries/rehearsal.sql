-- The registration-day rehearsal (school rehearse): it prepares a queued window, reads
-- the catalog to draw demand from, and checks the invariants afterwards, straight from
-- the tables.

-- name: RehearsalCurrentTerm :one
SELECT id FROM terms WHERE is_current ORDER BY id LIMIT 1;

-- name: RehearsalDeleteWindows :exec
DELETE FROM registration_windows WHERE term_id = ?;

-- name: RehearsalInsertWindow :execlastid
INSERT INTO registration_windows (term_id, phase, opens_at, closes_at, queue_enabled, prequeue_opens_at,
    max_active, admit_per_second, pass_seconds, idle_seconds, grace_seconds)
VALUES (sqlc.arg(term_id), 'registration', sqlc.arg(opens_at), sqlc.arg(closes_at), TRUE, sqlc.arg(prequeue_opens_at),
    sqlc.arg(max_active), sqlc.arg(admit_per_second), sqlc.arg(pass_seconds), sqlc.arg(idle_seconds), sqlc.arg(grace_seconds));

-- name: RehearsalSections :many
SELECT s.id, s.course_id, s.capacity, c.credits,
       CAST((SELECT COUNT(*) FROM course_prerequisites p WHERE p.course_id = c.id) AS SIGNED) AS prerequisites
FROM sections s JOIN courses c ON c.id = s.course_id
WHERE s.term_id = ?
ORDER BY s.id;

-- name: RehearsalMeetings :many
SELECT m.section_id, m.weekday, m.start_minute, m.end_minute
FROM section_meetings m JOIN sections s ON s.id = m.section_id
WHERE s.term_id = ?;

-- name: RehearsalStudents :many
SELECT id, username FROM users WHERE role = 'student' ORDER BY username;

-- name: RehearsalTermActivity :one
SELECT CAST((SELECT COUNT(*) FROM enrollments e WHERE e.term_id = sqlc.arg(term_id)) AS SIGNED) AS enrollments,
       CAST((SELECT COUNT(*) FROM waitlist_entries w JOIN sections s ON s.id = w.section_id
             WHERE s.term_id = sqlc.arg(term_id)) AS SIGNED) AS waitlist_entries;

-- name: RehearsalOverCapacity :many
SELECT id, capacity, enrolled, held FROM sections
WHERE enrolled < 0 OR held < 0 OR enrolled + held > capacity;

-- name: RehearsalCountMismatch :many
SELECT s.id, s.enrolled, CAST(COUNT(e.id) AS SIGNED) AS enrollment_rows
FROM sections s LEFT JOIN enrollments e ON e.section_id = s.id
GROUP BY s.id, s.enrolled
HAVING s.enrolled <> COUNT(e.id);

-- name: RehearsalDuplicateEnrollments :many
SELECT user_id, course_id, term_id, CAST(COUNT(*) AS SIGNED) AS n
FROM enrollments
GROUP BY user_id, course_id, term_id
HAVING COUNT(*) > 1;

-- name: RehearsalCreditViolations :many
SELECT e.user_id, e.term_id, u.credit_limit, CAST(SUM(c.credits) AS SIGNED) AS credits
FROM enrollments e
JOIN users u ON u.id = e.user_id
JOIN courses c ON c.id = e.course_id
GROUP BY e.user_id, e.term_id, u.credit_limit
HAVING SUM(c.credits) > u.credit_limit;

-- name: RehearsalTimeConflicts :many
SELECT DISTINCT a.user_id, a.section_id AS section_a, b.section_id AS section_b
FROM enrollments a
JOIN enrollments b ON b.user_id = a.user_id AND b.term_id = a.term_id AND b.section_id > a.section_id
JOIN section_meetings ma ON ma.section_id = a.section_id
JOIN section_meetings mb ON mb.section_id = b.section_id AND mb.weekday = ma.weekday
    AND mb.start_minute < ma.end_minute AND ma.start_minute < mb.end_minute;

-- name: RehearsalEnrollments :many
SELECT user_id, section_id, source FROM enrollments WHERE term_id = ?;

-- name: RehearsalWaitlist :many
SELECT w.user_id, w.section_id, w.status
FROM waitlist_entries w JOIN sections s ON s.id = w.section_id
WHERE s.term_id = ?;

-- name: RehearsalSetOpening :exec
UPDATE registration_windows SET opens_at = ?, prequeue_opens_at = ? WHERE id = ?;


-- name: RehearsalCompleted :many
SELECT user_id, course_id FROM completed_courses;
