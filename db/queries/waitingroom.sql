-- The waiting room. Joining is one INSERT; polling reads nothing (each replica caches
-- the places); admission is one transaction per window and tick, under the state row's
-- lock, so replicas together never admit past the active limit.

-- name: QueuedWindows :many
SELECT w.id, w.term_id, w.class_year, w.opens_at, w.closes_at, w.prequeue_opens_at, w.max_active,
       w.admit_per_second, w.pass_seconds, w.idle_seconds, w.grace_seconds, w.paused,
       COALESCE(s.shuffle_commitment, '') AS shuffle_commitment, s.shuffled_at
FROM registration_windows w LEFT JOIN waiting_room_state s ON s.window_id = w.id
WHERE w.queue_enabled AND w.closes_at > sqlc.arg(now)
  AND COALESCE(w.prequeue_opens_at, w.opens_at) <= sqlc.arg(started_by);

-- name: GetSecret :one
SELECT value FROM app_secrets WHERE name = ?;

-- name: PutSecretIfMissing :exec
INSERT IGNORE INTO app_secrets (name, value) VALUES (?, ?);

-- name: CreateRoomState :exec
INSERT IGNORE INTO waiting_room_state (window_id, shuffle_commitment, shuffle_nonce) VALUES (?, ?, ?);

-- WindowsAwaitingCommitment are the enabled waiting rooms without a state row yet: the
-- commitment is made (and shown) as soon as a room is enabled, before its pre-queue opens.
-- name: WindowsAwaitingCommitment :many
SELECT w.id FROM registration_windows w LEFT JOIN waiting_room_state s ON s.window_id = w.id
WHERE w.queue_enabled AND w.closes_at > sqlc.arg(now) AND s.window_id IS NULL;

-- name: LockRoomState :one
SELECT window_id, shuffle_commitment, shuffle_nonce, shuffle_seed, shuffled_at, last_position, admit_credit, last_tick_at
FROM waiting_room_state WHERE window_id = ? FOR UPDATE;

-- A join holds the window's state row shared until it commits, and a tick holds it
-- exclusively: a tick waits for every join in flight, so it never orders a later arrival
-- before an earlier one whose commit is slow.
-- name: ShareRoomState :many
SELECT window_id FROM waiting_room_state WHERE window_id = ? LOCK IN SHARE MODE;

-- name: JoinRoom :exec
INSERT IGNORE INTO waiting_room_tickets (window_id, user_id, prequeue, joined_at, last_seen_at, changed_at, arrival)
VALUES (sqlc.arg(window_id), sqlc.arg(user_id), sqlc.arg(prequeue), sqlc.arg(now), sqlc.arg(now), sqlc.arg(now),
        NEXTVAL(waiting_room_arrivals));

-- A student whose place expired, or whose pass ended, queues again at the back. By id:
-- a search by student could range-lock the end of an index where new places go.
-- name: RequeueTicket :execrows
UPDATE waiting_room_tickets
SET state = 'waiting', position = NULL, prequeue = sqlc.arg(prequeue), joined_at = sqlc.arg(now),
    last_seen_at = sqlc.arg(now), changed_at = sqlc.arg(now), admitted_at = NULL, pass_expires_at = NULL,
    arrival = NEXTVAL(waiting_room_arrivals)
WHERE id = sqlc.arg(id) AND state IN ('expired', 'done');

-- name: GetTicket :one
SELECT id, prequeue, position, state, pass_expires_at, shuffle_position
FROM waiting_room_tickets WHERE window_id = ? AND user_id = ?;

-- Unordered places (the pre-queue at the opening, arrivals after) are read without locks
-- by the tick, which holds the state row (no join is in flight), ordered in the app, and
-- numbered in chunks in primary-key order: every writer of places locks them in that
-- order, so none deadlocks with another.
-- name: UnorderedTickets :many
SELECT id, prequeue, arrival, joined_at, state FROM waiting_room_tickets
WHERE window_id = ? AND position IS NULL
ORDER BY arrival, id;

-- The tick takes every place it will number or admit in one pass in primary-key order
-- before changing any, as the write-backs and the sweep take theirs: numbered first and
-- admitted after, its locks came newest arrivals first, then the front of the line, and
-- closed cycles with write-backs in between (deadlocks in admit under load).
-- It reads their state as it is now (the tick's earlier reads see its snapshot), so it
-- admits exactly the places still waiting.
-- name: LockTickets :many
SELECT id, state FROM waiting_room_tickets WHERE id IN (sqlc.slice(ids)) ORDER BY id FOR UPDATE;

-- name: NumberTickets :execrows
UPDATE waiting_room_tickets
SET position = ELT(FIELD(id, sqlc.slice(ids)), sqlc.slice(positions)),
    shuffle_position = IF(sqlc.arg(shuffle), ELT(FIELD(id, sqlc.slice(ids2)), sqlc.slice(positions2)), shuffle_position),
    changed_at = sqlc.arg(now)
WHERE id IN (sqlc.slice(ids3)) AND position IS NULL;

-- The sweep: candidates read without locks through the indexes, at most a batch a tick,
-- then changed by primary key with the condition checked again (a poll written back in
-- between keeps the place).
-- name: AbsentWaiting :many
SELECT id FROM waiting_room_tickets
WHERE window_id = ? AND state = 'waiting' AND last_seen_at < sqlc.arg(seen_before)
LIMIT ?;

-- name: ExpireTickets :execrows
UPDATE waiting_room_tickets SET state = 'expired', changed_at = sqlc.arg(now)
WHERE id IN (sqlc.slice(ids)) AND state = 'waiting' AND last_seen_at < sqlc.arg(seen_before);

-- name: IdleAdmitted :many
SELECT id FROM waiting_room_tickets
WHERE window_id = ? AND state = 'admitted' AND last_seen_at < sqlc.arg(seen_before)
LIMIT ?;

-- name: PassEndedAdmitted :many
SELECT id FROM waiting_room_tickets
WHERE window_id = ? AND state = 'admitted' AND pass_expires_at < sqlc.arg(pass_before)
LIMIT ?;

-- name: FinishTickets :execrows
UPDATE waiting_room_tickets SET state = 'done', changed_at = sqlc.arg(now)
WHERE id IN (sqlc.slice(ids)) AND state = 'admitted'
  AND (pass_expires_at < sqlc.arg(pass_before) OR last_seen_at < sqlc.arg(seen_before));

-- name: CountActive :one
SELECT CAST(COUNT(*) AS SIGNED) FROM waiting_room_tickets WHERE window_id = ? AND state = 'admitted';

-- Through the state index, which holds the waiting in position order: by the position
-- index, which the optimizer picks while most places wait, the read steps over every place
-- admitted so far (1,155 rows for 24 in the polling benchmark, growing all morning).
-- name: NextInLine :many
SELECT id, joined_at FROM waiting_room_tickets FORCE INDEX (waiting_room_tickets_state)
WHERE window_id = ? AND state = 'waiting' AND position IS NOT NULL
ORDER BY position
LIMIT ?;

-- name: AdmitTickets :execrows
UPDATE waiting_room_tickets
SET state = 'admitted', admitted_at = sqlc.arg(admitted_at), pass_expires_at = sqlc.arg(pass_expires_at),
    last_seen_at = sqlc.arg(now), changed_at = sqlc.arg(now)
WHERE id IN (sqlc.slice(ids)) AND state = 'waiting';

-- name: SaveRoomState :exec
UPDATE waiting_room_state
SET last_position = sqlc.arg(last_position), admit_credit = sqlc.arg(admit_credit), last_tick_at = sqlc.arg(tick_at),
    admitted_total = admitted_total + sqlc.arg(admitted), shuffled_at = COALESCE(shuffled_at, sqlc.arg(shuffled_at)),
    shuffle_seed = COALESCE(shuffle_seed, sqlc.narg(shuffle_seed))
WHERE window_id = sqlc.arg(window_id);

-- name: CountFailedTick :exec
UPDATE waiting_room_state SET failed_ticks = failed_ticks + 1, last_failed_tick_at = sqlc.arg(at)
WHERE window_id = sqlc.arg(window_id);

-- name: RoomShuffle :one
SELECT shuffle_commitment, shuffle_seed, shuffled_at, failed_ticks, last_failed_tick_at
FROM waiting_room_state WHERE window_id = ?;

-- name: ShuffledTickets :many
SELECT id, shuffle_position FROM waiting_room_tickets
WHERE window_id = ? AND shuffle_position IS NOT NULL
ORDER BY shuffle_position;

-- name: TicketsChangedSince :many
SELECT id, user_id, position, state, changed_at FROM waiting_room_tickets
WHERE window_id = sqlc.arg(window_id) AND changed_at >= sqlc.arg(since);

-- name: TouchTickets :exec
UPDATE waiting_room_tickets SET last_seen_at = sqlc.arg(now) WHERE id IN (sqlc.slice(ids));

-- name: FinishTicket :exec
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

-- Seats left of the sections the waiting pages show (their students' baskets), not of
-- every section: the refresh costs what is shown.
-- name: SeatsLeftOf :many
SELECT s.id, c.code AS course_code, s.number, CAST(s.capacity - s.enrolled - s.held AS SIGNED) AS seats_left
FROM sections s JOIN courses c ON c.id = s.course_id
WHERE s.id IN (sqlc.slice(ids));
