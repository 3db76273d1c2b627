-- What a signed-in student sees of their own registration.

-- name: StudentCredits :one
SELECT u.credit_limit,
       CAST(COALESCE((SELECT SUM(c.credits) FROM enrollments e
                      JOIN courses c ON c.id = e.course_id
                      JOIN terms t ON t.id = e.term_id
                      WHERE e.user_id = u.id AND t.is_current), 0) AS SIGNED) AS used
FROM users u WHERE u.id = ?;

-- name: EnrolledAmong :many
SELECT section_id FROM enrollments WHERE user_id = sqlc.arg(user_id) AND section_id IN (sqlc.slice(ids));

-- name: WaitingAmong :many
SELECT w.section_id,
       CAST((SELECT COUNT(*) FROM waitlist_entries a
             WHERE a.section_id = w.section_id AND a.status = 'waiting' AND a.id < w.id) + 1 AS SIGNED) AS position
FROM waitlist_entries w
WHERE w.user_id = sqlc.arg(user_id) AND w.status = 'waiting' AND w.section_id IN (sqlc.slice(ids));

-- name: MySectionIDs :many
SELECT e.section_id FROM enrollments e JOIN terms t ON t.id = e.term_id
WHERE e.user_id = sqlc.arg(user_id) AND t.is_current
UNION
SELECT w.section_id FROM waitlist_entries w
WHERE w.user_id = sqlc.arg(user_id) AND w.status = 'waiting';
