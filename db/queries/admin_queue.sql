-- Staff controls of the waiting room.

-- name: ListTermWindows :many
SELECT w.id, w.class_year, w.phase, w.opens_at, w.closes_at, w.queue_enabled, w.prequeue_opens_at,
       w.max_active, w.admit_per_second, w.paused
FROM registration_windows w JOIN terms t ON t.id = w.term_id
WHERE t.is_current
ORDER BY w.opens_at, w.id;

-- name: WaitingRoomCounts :one
SELECT CAST(COALESCE(SUM(state = 'waiting'), 0) AS SIGNED) AS waiting,
       CAST(COALESCE(SUM(state = 'admitted'), 0) AS SIGNED) AS active,
       CAST(COALESCE(SUM(state IN ('admitted', 'done')), 0) AS SIGNED) AS admitted,
       CAST(COALESCE(SUM(admitted_at >= sqlc.arg(since)), 0) AS SIGNED) AS admitted_recently
FROM waiting_room_tickets WHERE window_id = sqlc.arg(window_id);

-- name: RecentAdmissions :many
SELECT joined_at, admitted_at FROM waiting_room_tickets
WHERE window_id = ? AND admitted_at IS NOT NULL
ORDER BY admitted_at DESC
LIMIT 5000;

-- name: UpdateWaitingRoomSettings :execrows
UPDATE registration_windows
SET queue_enabled = ?, admit_per_second = ?, max_active = ?, paused = ?
WHERE id = ?;

-- name: UserIDByUsername :one
SELECT id FROM users WHERE username = ?;

-- name: GetWaitingRoomSettings :one
SELECT queue_enabled, admit_per_second, max_active, paused
FROM registration_windows WHERE id = ? FOR UPDATE;
