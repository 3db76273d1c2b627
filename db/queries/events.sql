-- Events and their seats. A seat is reserved by setting its holder; see the migration.

-- name: InsertEvent :execlastid
INSERT INTO events (title, description, venue, starts_at, reserve_opens_at, reserve_closes_at, seat_rows, seats_per_row)
VALUES (?, ?, ?, ?, ?, ?, ?, ?);

-- name: UpdateEvent :execrows
UPDATE events
SET title = ?, description = ?, venue = ?, starts_at = ?, reserve_opens_at = ?, reserve_closes_at = ?,
    seat_rows = ?, seats_per_row = ?
WHERE id = ?;

-- name: GetEvent :one
SELECT id, title, description, venue, starts_at, reserve_opens_at, reserve_closes_at, seat_rows, seats_per_row
FROM events WHERE id = ?;

-- LockEvent serialises staff edits of one event.
-- name: LockEvent :one
SELECT id, title, description, venue, starts_at, reserve_opens_at, reserve_closes_at, seat_rows, seats_per_row
FROM events WHERE id = ? FOR UPDATE;

-- ListEvents is every event for staff, newest first, with its seat figures.
-- name: ListEvents :many
SELECT e.id, e.title, e.venue, e.starts_at, e.reserve_opens_at, e.reserve_closes_at,
       CAST(COALESCE(SUM(s.holder_id IS NOT NULL), 0) AS SIGNED) AS held,
       CAST(COALESCE(SUM(s.holder_id IS NULL AND NOT s.blocked), 0) AS SIGNED) AS seats_left
FROM events e LEFT JOIN event_seats s ON s.event_id = e.id
GROUP BY e.id
ORDER BY e.starts_at DESC, e.id DESC;

-- UpcomingEvents lists the events still to come, soonest first, with the seats left and
-- the seat the user holds, if any (0 for none).
-- name: UpcomingEvents :many
SELECT e.id, e.title, e.venue, e.starts_at, e.reserve_opens_at, e.reserve_closes_at,
       CAST(COALESCE(SUM(s.holder_id IS NULL AND NOT s.blocked), 0) AS SIGNED) AS seats_left,
       CAST(COALESCE(MAX(CASE WHEN s.holder_id = sqlc.arg(user_id) THEN s.seat_row END), 0) AS SIGNED) AS my_row,
       CAST(COALESCE(MAX(CASE WHEN s.holder_id = sqlc.arg(user_id) THEN s.seat_number END), 0) AS SIGNED) AS my_number
FROM events e LEFT JOIN event_seats s ON s.event_id = e.id
WHERE e.starts_at >= sqlc.arg(now)
GROUP BY e.id
ORDER BY e.starts_at, e.id
LIMIT ?;

-- name: EventSeats :many
SELECT seat_row, seat_number, blocked, holder_id FROM event_seats
WHERE event_id = ? ORDER BY seat_row, seat_number;

-- name: GetSeat :one
SELECT blocked, holder_id FROM event_seats WHERE event_id = ? AND seat_row = ? AND seat_number = ?;

-- name: HeldSeat :one
SELECT seat_row, seat_number FROM event_seats WHERE event_id = ? AND holder_id = ?;

-- ReserveSeat takes a free, open seat: 0 rows means it is taken, blocked or not there.
-- name: ReserveSeat :execrows
UPDATE event_seats SET holder_id = sqlc.arg(holder_id), reserved_at = sqlc.arg(now)
WHERE event_id = sqlc.arg(event_id) AND seat_row = sqlc.arg(seat_row) AND seat_number = sqlc.arg(seat_number)
  AND holder_id IS NULL AND NOT blocked;

-- name: CancelSeat :execrows
UPDATE event_seats SET holder_id = NULL, reserved_at = NULL WHERE event_id = ? AND holder_id = ?;

-- name: UnblockSeats :exec
UPDATE event_seats SET blocked = FALSE WHERE event_id = ? AND blocked;

-- BlockSeat blocks a seat nobody holds: 0 rows means it is held or not on the map.
-- name: BlockSeat :execrows
UPDATE event_seats SET blocked = TRUE
WHERE event_id = ? AND seat_row = ? AND seat_number = ? AND holder_id IS NULL;

-- name: CountHeldOutside :one
SELECT COUNT(*) FROM event_seats
WHERE event_id = sqlc.arg(event_id) AND holder_id IS NOT NULL
  AND (seat_row > sqlc.arg(seat_rows) OR seat_number > sqlc.arg(seats_per_row));

-- name: DeleteSeatsOutside :exec
DELETE FROM event_seats
WHERE event_id = sqlc.arg(event_id) AND (seat_row > sqlc.arg(seat_rows) OR seat_number > sqlc.arg(seats_per_row));

-- name: DeleteAllEvents :exec
DELETE FROM events;
