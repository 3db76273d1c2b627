-- What a signed-in student sees of their own registration.

-- The header's one read of a student's own figures: credits and unread notifications.
-- name: StudentCredits :one
SELECT u.credit_limit,
       CAST(COALESCE((SELECT SUM(c.credits) FROM enrollments e
                      JOIN courses c ON c.id = e.course_id
                      JOIN terms t ON t.id = e.term_id
                      WHERE e.user_id = u.id AND t.is_current), 0) AS SIGNED) AS used,
       CAST((SELECT COUNT(*) FROM notifications n WHERE n.user_id = u.id AND n.read_at IS NULL) AS SIGNED) AS unread
FROM users u WHERE u.id = ?;

-- name: MySectionIDs :many
SELECT e.section_id FROM enrollments e JOIN terms t ON t.id = e.term_id
WHERE e.user_id = sqlc.arg(user_id) AND t.is_current
UNION
SELECT w.section_id FROM waitlist_entries w
WHERE w.user_id = sqlc.arg(user_id) AND w.status = 'waiting';

-- StandingsAmong says, in one round trip, where the student stands with each listed
-- section: enrolled, waiting (with the position) or in the basket.
-- name: StandingsAmong :many
SELECT e.section_id, 'enrolled' AS kind, CAST(0 AS SIGNED) AS position
FROM enrollments e WHERE e.user_id = sqlc.arg(user_id) AND e.section_id IN (sqlc.slice(ids))
UNION ALL
SELECT w.section_id, 'waiting',
       CAST((SELECT COUNT(*) FROM waitlist_entries a
             WHERE a.section_id = w.section_id AND a.status = 'waiting' AND a.id < w.id) + 1 AS SIGNED)
FROM waitlist_entries w
WHERE w.user_id = sqlc.arg(user_id) AND w.status = 'waiting' AND w.section_id IN (sqlc.slice(ids))
UNION ALL
SELECT b.section_id, 'basket', CAST(0 AS SIGNED)
FROM basket_items b WHERE b.user_id = sqlc.arg(user_id) AND b.section_id IN (sqlc.slice(ids));
