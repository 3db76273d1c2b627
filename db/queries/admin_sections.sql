-- Staff maintenance of sections, their rosters, and registration windows.

-- name: AdminListSections :many
SELECT s.id, s.number, s.instructor, s.room, s.capacity, s.enrolled, s.held,
       c.code AS course_code, c.title,
       CAST((SELECT COUNT(*) FROM waitlist_entries w WHERE w.section_id = s.id AND w.status = 'waiting') AS SIGNED) AS waiting,
       CAST(COUNT(*) OVER () AS SIGNED) AS total
FROM sections s JOIN courses c ON c.id = s.course_id
WHERE s.term_id = sqlc.arg(term_id)
  AND (sqlc.arg(pattern) = '%%' OR c.code LIKE sqlc.arg(pattern) OR c.title LIKE sqlc.arg(pattern)
       OR s.instructor LIKE sqlc.arg(pattern))
ORDER BY c.code, s.number
LIMIT ? OFFSET ?;

-- name: GetAdminSection :one
SELECT s.id, s.course_id, s.term_id, s.number, s.instructor, s.room, s.capacity, s.enrolled, s.held,
       c.code AS course_code, c.title, t.code AS term_code, t.name AS term_name
FROM sections s
JOIN courses c ON c.id = s.course_id
JOIN terms t ON t.id = s.term_id
WHERE s.id = ?;

-- name: CourseByCode :one
SELECT id, code FROM courses WHERE code = ?;

-- name: InsertSection :execlastid
INSERT INTO sections (course_id, term_id, number, instructor, room, capacity) VALUES (?, ?, ?, ?, ?, ?);

-- The seats (capacity, held) change through ResizeSection, where registration.Resize
-- applies the seat rule.
-- name: UpdateSection :exec
UPDATE sections SET number = ?, instructor = ?, room = ? WHERE id = ?;

-- ResizeSection also adds seats to held: new seats go to the waitlist first.
-- name: ResizeSection :exec
UPDATE sections SET capacity = ?, held = held + sqlc.arg(hold) WHERE id = sqlc.arg(id);

-- name: DeleteSectionMeetings :exec
DELETE FROM section_meetings WHERE section_id = ?;

-- name: InsertSectionMeeting :exec
INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (?, ?, ?, ?);

-- name: SectionDependents :one
SELECT CAST((SELECT COUNT(*) FROM enrollments e WHERE e.section_id = sqlc.arg(id)) AS SIGNED) AS enrollments,
       CAST((SELECT COUNT(*) FROM waitlist_entries w WHERE w.section_id = sqlc.arg(id) AND w.status = 'waiting') AS SIGNED) AS waiting;

-- name: DeleteSection :exec
DELETE FROM sections WHERE id = ?;

-- name: CountWaiting :one
SELECT CAST(COUNT(*) AS SIGNED) FROM waitlist_entries WHERE section_id = ? AND status = 'waiting';

-- name: SectionRoster :many
SELECT u.id, u.username, u.display_name, COALESCE(u.student_number, '') AS student_number,
       e.source, e.created_at
FROM enrollments e JOIN users u ON u.id = e.user_id
WHERE e.section_id = ?
ORDER BY u.username;

-- SectionWaitlist lists the students waiting, in the order seats go to them, then the
-- ones skipped, with the reason.
-- name: SectionWaitlist :many
SELECT w.id, u.username, u.display_name, w.status, w.reason, w.joined_at
FROM waitlist_entries w JOIN users u ON u.id = w.user_id
WHERE w.section_id = ? AND w.status IN ('waiting', 'skipped')
ORDER BY w.status <> 'waiting', w.id;

-- name: UserByUsername :one
SELECT id, username, display_name, role FROM users WHERE username = ?;

-- name: AdminListWindows :many
SELECT w.id, w.class_year, w.phase, w.opens_at, w.closes_at, w.queue_enabled,
       CAST((SELECT COUNT(*) FROM waiting_room_tickets k WHERE k.window_id = w.id) AS SIGNED) AS tickets
FROM registration_windows w
WHERE w.term_id = ?
ORDER BY w.opens_at, w.id;

-- name: GetWindowForUpdate :one
SELECT w.id, w.term_id, w.class_year, w.phase, w.opens_at, w.closes_at, w.show_basket_counts
FROM registration_windows w WHERE w.id = ? FOR UPDATE;

-- name: GetWindow :one
SELECT w.id, w.term_id, w.class_year, w.phase, w.opens_at, w.closes_at, w.show_basket_counts, t.code AS term_code, t.name AS term_name
FROM registration_windows w JOIN terms t ON t.id = w.term_id
WHERE w.id = ?;

-- name: UpdateWindow :exec
UPDATE registration_windows SET class_year = ?, phase = ?, opens_at = ?, closes_at = ?, show_basket_counts = ? WHERE id = ?;

-- name: WindowTickets :one
SELECT CAST(COUNT(*) AS SIGNED) FROM waiting_room_tickets WHERE window_id = ?;

-- name: DeleteWindow :exec
DELETE FROM registration_windows WHERE id = ?;

-- DeleteSectionWaitlistHistory removes the entries of students no longer waiting, so a
-- section nobody holds or waits for can be deleted.
-- name: DeleteSectionWaitlistHistory :exec
DELETE FROM waitlist_entries WHERE section_id = ? AND status <> 'waiting';
