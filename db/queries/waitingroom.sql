-- The waiting room. Joining is one INSERT; polling reads nothing (each replica caches
-- the places); admission is one transaction per window and tick, under the state row's
-- lock, so replicas together never admit past the active limit.

-- name: QueuedWindows :many
SELECT id, term_id, class_year, opens_at, closes_at, prequeue_opens_at, max_active,
       admit_per_second, pass_seconds, idle_seconds, grace_seconds, paused
FROM registration_windows
WHERE queue_enabled AND closes_at > sqlc.arg(now)
  AND COALESCE(prequeue_opens_at, opens_at) <= sqlc.arg(started_by);

-- name: GetSecret :one
SELECT value FROM app_secrets WHERE name = ?;

-- name: PutSecretIfMissing :exec
INSERT IGNORE INTO app_secrets (name, value) VALUES (?, ?);

-- name: CreateRoomState :exec
INSERT IGNORE INTO waiting_room_state (window_id, shuffle_commitment, shuffle_seed) VALUES (?, ?, ?);

-- name: LockRoomState :one
SELECT window_id, shuffle_seed, shuffled_at, last_position, admit_credit, last_tick_at
FROM waiting_room_state WHERE window_id = ? FOR UPDATE;

-- name: JoinRoom :exec
INSERT IGNORE INTO waiting_room_tickets (window_id, user_id, prequeue, joined_at, last_seen_at, changed_at)
VALUES (sqlc.arg(window_id), sqlc.arg(user_id), sqlc.arg(prequeue), sqlc.arg(now), sqlc.arg(now), sqlc.arg(now));

-- A student whose place expired, or whose pass ended, queues again at the back.
-- name: RequeueTicket :execrows
UPDATE waiting_room_tickets
SET state = 'waiting', position = NULL, prequeue = sqlc.arg(prequeue), joined_at = sqlc.arg(now),
    last_seen_at = sqlc.arg(now), changed_at = sqlc.arg(now), admitted_at = NULL, pass_expires_at = NULL
WHERE window_id = sqlc.arg(window_id) AND user_id = sqlc.arg(user_id) AND state IN ('expired', 'done');

-- name: GetTicket :one
SELECT id, prequeue, position, state, pass_expires_at
FROM waiting_room_tickets WHERE window_id = ? AND user_id = ?;

-- ShufflePrequeue orders the pre-queue by SHA-256 of the window's seed, a colon and the
-- ticket id: a permutation anyone holding the seed can recompute.
-- name: ShufflePrequeue :execrows
UPDATE waiting_room_tickets t
JOIN (SELECT w.id, ROW_NUMBER() OVER (ORDER BY SHA2(CONCAT(
          (SELECT s.shuffle_seed FROM waiting_room_state s WHERE s.window_id = w.window_id), ':', w.id), 256)) AS rn
      FROM waiting_room_tickets w WHERE w.window_id = sqlc.arg(window_id) AND w.position IS NULL AND w.prequeue) r ON r.id = t.id
SET t.position = r.rn, t.changed_at = sqlc.arg(now);

-- OrderArrivals places the tickets taken since the last tick behind everyone, in arrival
-- order.
-- name: OrderArrivals :execrows
UPDATE waiting_room_tickets t
JOIN (SELECT w.id, sqlc.arg(after) + ROW_NUMBER() OVER (ORDER BY w.joined_at, w.id) AS rn
      FROM waiting_room_tickets w WHERE w.window_id = sqlc.arg(window_id) AND w.position IS NULL) r ON r.id = t.id
SET t.position = r.rn, t.changed_at = sqlc.arg(now);

-- name: ExpireAbsent :execrows
UPDATE waiting_room_tickets SET state = 'expired', changed_at = sqlc.arg(now)
WHERE window_id = sqlc.arg(window_id) AND state = 'waiting' AND last_seen_at < sqlc.arg(seen_before);

-- name: FinishIdle :execrows
UPDATE waiting_room_tickets SET state = 'done', changed_at = sqlc.arg(now)
WHERE window_id = sqlc.arg(window_id) AND state = 'admitted'
  AND (pass_expires_at < sqlc.arg(pass_before) OR last_seen_at < sqlc.arg(seen_before));

-- name: CountActive :one
SELECT CAST(COUNT(*) AS SIGNED) FROM waiting_room_tickets WHERE window_id = ? AND state = 'admitted';

-- name: AdmitNext :execrows
UPDATE waiting_room_tickets
SET state = 'admitted', admitted_at = sqlc.arg(admitted_at), pass_expires_at = sqlc.arg(pass_expires_at),
    last_seen_at = sqlc.arg(now), changed_at = sqlc.arg(now)
WHERE window_id = sqlc.arg(window_id) AND state = 'waiting' AND position IS NOT NULL
ORDER BY position
LIMIT ?;

-- name: SaveRoomState :exec
UPDATE waiting_room_state
SET last_position = sqlc.arg(last_position), admit_credit = sqlc.arg(admit_credit), last_tick_at = sqlc.arg(tick_at),
    admitted_total = admitted_total + sqlc.arg(admitted), shuffled_at = COALESCE(shuffled_at, sqlc.arg(shuffled_at))
WHERE window_id = sqlc.arg(window_id);

-- name: TicketsChangedSince :many
SELECT id, user_id, position, state, changed_at FROM waiting_room_tickets
WHERE window_id = sqlc.arg(window_id) AND changed_at >= sqlc.arg(since);

-- name: TouchTickets :exec
UPDATE waiting_room_tickets SET last_seen_at = sqlc.arg(now) WHERE id IN (sqlc.slice(ids));

-- name: FinishTicket :execrows
UPDATE waiting_room_tickets SET state = 'done', changed_at = sqlc.arg(now)
WHERE window_id = sqlc.arg(window_id) AND user_id = sqlc.arg(user_id) AND state = 'admitted';

-- name: AdmitTicketNow :execrows
UPDATE waiting_room_tickets
SET state = 'admitted', admitted_at = sqlc.arg(admitted_at), pass_expires_at = sqlc.arg(pass_expires_at),
    last_seen_at = sqlc.arg(now), changed_at = sqlc.arg(now)
WHERE window_id = sqlc.arg(window_id) AND user_id = sqlc.arg(user_id) AND state = 'waiting';

-- name: NextWindowOpening :one
SELECT CAST(COALESCE(MIN(opens_at), '1970-01-01') AS DATETIME(6)) AS opens_at
FROM registration_windows WHERE opens_at > ?;

-- name: SeatsLeftThisTerm :many
SELECT s.id, c.code AS course_code, s.number, CAST(s.capacity - s.enrolled - s.held AS SIGNED) AS seats_left
FROM sections s JOIN courses c ON c.id = s.course_id JOIN terms t ON t.id = s.term_id
WHERE t.is_current;

-- name: JoinedAtOfAdmitted :many
SELECT joined_at FROM waiting_room_tickets WHERE window_id = ? AND admitted_at = ?;
