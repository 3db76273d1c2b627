-- The registration-day dashboard. Replicas add their counts with db.BulkAdd; these read
-- them back summed.

-- name: ResultsSince :many
SELECT minute_at, result, n FROM registration_minutes
WHERE minute_at >= ?
ORDER BY minute_at, result;

-- name: LatencySince :many
SELECT minute_at, le_ms, n FROM registration_latency_minutes
WHERE minute_at >= ?
ORDER BY minute_at, le_ms;

-- name: PruneRegistrationMinutes :exec
DELETE FROM registration_minutes WHERE minute_at < ?;

-- name: PruneLatencyMinutes :exec
DELETE FROM registration_latency_minutes WHERE minute_at < ?;

-- name: HotSections :many
-- The sections with the most seats taken since the given time.
SELECT s.id, c.code, s.number, s.capacity, s.enrolled, COUNT(*) AS recent
FROM enrollments e
JOIN sections s ON s.id = e.section_id
JOIN courses c ON c.id = s.course_id
WHERE e.created_at >= sqlc.arg(since)
GROUP BY s.id, c.code, s.number, s.capacity, s.enrolled
ORDER BY recent DESC, s.id
LIMIT 5;

-- name: SeatsTakenPerMinute :many
-- Seats taken (and still held) per minute since the given minute, by section.
SELECT section_id, CAST(TIMESTAMPDIFF(MINUTE, sqlc.arg(origin), created_at) AS SIGNED) AS minute_no,
       COUNT(*) AS n
FROM enrollments
WHERE section_id IN (sqlc.slice(ids)) AND created_at >= sqlc.arg(since)
GROUP BY section_id, minute_no;

-- name: TermSeatFigures :one
-- The current term's sections: how many, how many have no seat left for a walk-in, and
-- the seats taken out of all seats.
SELECT COUNT(*) AS sections,
       CAST(COALESCE(SUM(s.enrolled + s.held >= s.capacity), 0) AS SIGNED) AS full_sections,
       CAST(COALESCE(SUM(s.enrolled), 0) AS SIGNED) AS enrolled,
       CAST(COALESCE(SUM(s.capacity), 0) AS SIGNED) AS capacity
FROM sections s JOIN terms t ON t.id = s.term_id
WHERE t.is_current;

-- name: AdmissionsPerMinute :many
-- Waiting-room admissions per minute since the given minute, over the given windows.
SELECT CAST(TIMESTAMPDIFF(MINUTE, sqlc.arg(origin), admitted_at) AS SIGNED) AS minute_no, COUNT(*) AS n
FROM waiting_room_tickets
WHERE window_id IN (sqlc.slice(window_ids)) AND admitted_at >= sqlc.arg(since)
GROUP BY minute_no;
