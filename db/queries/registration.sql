-- The registration transaction's statements. Lock order everywhere: the student's users
-- row first, then (for a seat of a quota) the quota's row, then the section row.

-- name: LockStudent :one
SELECT id, role, class_year, credit_limit FROM users WHERE id = ? FOR UPDATE;

-- RegistrationGlance is what a request reads before it locks anything, in one plain read:
-- the catalog version (so the rules are checked against a catalog at least that new), the
-- student's role and class year, the section's seats, the answer recorded under the
-- request key, and where the student stands with the section (the section held in its
-- course, a waiting entry and its place, the basket). On a full section it is the whole
-- of the request. reserved and quota_enrolled ("id:enrolled,…") are the quotas' live
-- counters while they hold (before quota_release_at) and some quota has a seat left
-- (reserved > 0); otherwise, as on a section without quotas, an empty string, and the
-- quotas are not read at all. The place in line is counted only for a student who is
-- waiting. Every join is on a primary or unique key, so MariaDB reads each as a constant
-- before it plans; the same facts as correlated subqueries cost it more per execution
-- (BENCHMARKS.md, "the glance").
-- name: RegistrationGlance :one
SELECT v.version,
       u.role, u.class_year, u.department_id,
       s.id AS section_id, s.capacity, s.enrolled, s.held,
       CAST(COALESCE(IF(s.quota_release_at <= NOW(6), 0, s.reserved), 0) AS SIGNED) AS reserved,
       CAST(CASE WHEN s.reserved > 0 AND NOT COALESCE(s.quota_release_at <= NOW(6), FALSE)
                 THEN COALESCE((SELECT GROUP_CONCAT(q.id, ':', q.enrolled) FROM section_quotas q WHERE q.section_id = s.id), '')
                 ELSE '' END AS CHAR) AS quota_enrolled,
       r.action AS key_action, r.section_id AS key_section_id, r.result AS key_result,
       CAST(COALESCE(e.section_id, 0) AS SIGNED) AS held_section_id,
       CAST(b.user_id IS NOT NULL AS SIGNED) AS in_basket,
       CAST(CASE WHEN wl.id IS NULL THEN 0
                 ELSE (SELECT COUNT(*) FROM waitlist_entries w
                       WHERE w.section_id = s.id AND w.status = 'waiting' AND w.id <= wl.id) END AS SIGNED) AS position
FROM catalog_version v
LEFT JOIN users u ON u.id = sqlc.arg(user_id)
LEFT JOIN sections s ON s.id = sqlc.arg(section_id)
LEFT JOIN enrollments e ON e.user_id = sqlc.arg(user_id) AND e.course_id = s.course_id AND e.term_id = s.term_id
LEFT JOIN basket_items b ON b.user_id = sqlc.arg(user_id) AND b.section_id = s.id
LEFT JOIN registration_requests r ON r.user_id = sqlc.arg(user_id) AND r.request_key = sqlc.arg(request_key)
LEFT JOIN waitlist_entries wl ON wl.user_id = sqlc.arg(user_id) AND wl.section_id = s.id AND wl.status = 'waiting'
WHERE v.id = 1;

-- LockStudentRecord locks the student's row, the lock that serialises one student's
-- requests, and in the same round trip reads their record as the rules need it: the
-- sections they hold in the term (the catalog says when those meet and what they are
-- worth), and their entry on this section's waitlist if any (of any status) and whether
-- it is waiting. Every change to a student's waitlist entry (joining, leaving,
-- a promotion) is made under that student's lock, so the entry read here stays as read.
-- For a registration that skipped the glance (registration/direct.go) it also reads what
-- the glance would have: the catalog version the rules are checked against, the section's
-- seats, and whether it is in the basket; the others ignore those.
-- Two of the values are packed in one number so that each table is read once: a
-- subquery costs mariadbd 15-20 µs whatever it reads, and reading the waitlist entry and
-- the section's seats in one each took about 27 µs off the statement's 245 (BENCHMARKS.md,
-- "nineteenth"). waitlist is the entry's id times two, plus one while it waits (0: none);
-- seats is the capacity times 2^32 plus the seats taken (enrolled + held <= capacity, an
-- INT); lockRecord and lockFirst unpack them.
-- The subqueries are plain reads that refer to the locked row, the version's and the
-- seats' by "+ 0 * u.id": they run once the lock is granted and see what the student's
-- other requests committed before it. MariaDB reads a subquery that does not refer to it
-- before it waits for the lock, and the transaction's first plain read fixes its view,
-- so then all of them, the sections held too, would miss those commits
-- (TestFirstReadAfterTheLock). They lock no enrollments; a JOIN would, and its next-key
-- locks would block other students' inserts until this commit.
-- name: LockStudentRecord :one
SELECT u.id, u.role, u.class_year, u.credit_limit,
       CAST(COALESCE((SELECT GROUP_CONCAT(e.section_id) FROM enrollments e
                      WHERE e.user_id = u.id AND e.term_id = sqlc.arg(term_id)), '') AS CHAR) AS held,
       CAST(COALESCE((SELECT w.id * 2 + (w.status = 'waiting') FROM waitlist_entries w
                      WHERE w.user_id = u.id AND w.section_id = sqlc.arg(section_id)), 0) AS SIGNED) AS waitlist,
       CAST(COALESCE((SELECT v.version FROM catalog_version v WHERE v.id = 1 + 0 * u.id), 0) AS SIGNED) AS version,
       CAST(COALESCE((SELECT s.capacity * 4294967296 + s.enrolled + s.held FROM sections s
                      WHERE s.id = sqlc.arg(section_id) + 0 * u.id), 0) AS SIGNED) AS seats,
       CAST(EXISTS (SELECT 1 FROM basket_items b WHERE b.user_id = u.id AND b.section_id = sqlc.arg(section_id)) AS SIGNED) AS in_basket
FROM users u WHERE u.id = sqlc.arg(id)
FOR UPDATE;

-- name: CompletedAmong :many
SELECT course_id FROM completed_courses WHERE user_id = ? AND course_id IN (sqlc.slice(course_ids));

-- name: GetRequestResult :one
SELECT action, section_id, result FROM registration_requests WHERE user_id = ? AND request_key = ?;

-- name: SaveRequestResult :exec
INSERT INTO registration_requests (user_id, request_key, action, section_id, result) VALUES (?, ?, ?, ?, ?);

-- reserved is the seats kept for quotas as they count now (none once released), so a
-- staff answer does not call them free.
-- name: GetSectionForRegistration :one
SELECT s.id, s.course_id, s.term_id, s.number, s.capacity, s.enrolled, s.held,
       CAST(IF(s.quota_release_at <= NOW(6), 0, s.reserved) AS SIGNED) AS reserved,
       s.instructor, s.room, c.code AS course_code, c.title, c.credits,
       d.code AS department_code, t.is_current
FROM sections s
JOIN courses c ON c.id = s.course_id
JOIN departments d ON d.id = c.department_id
JOIN terms t ON t.id = s.term_id
WHERE s.id = ?;

-- name: LockSection :one
SELECT id, capacity, enrolled, held FROM sections WHERE id = ? FOR UPDATE;

-- name: CreditsEnrolled :one
SELECT CAST(COALESCE(SUM(c.credits), 0) AS SIGNED) AS credits
FROM enrollments e JOIN courses c ON c.id = e.course_id
WHERE e.user_id = ? AND e.term_id = ?;

-- TakeSeat is the whole of oversell protection: 0 rows affected means full. It takes an
-- open seat: the seats reserved for the section's quotas are not free until the quotas'
-- release time (always 0 on a section without quotas).
-- name: TakeSeat :execrows
UPDATE sections SET enrolled = enrolled + 1
WHERE id = ? AND enrolled + held + IF(quota_release_at <= NOW(6), 0, reserved) < capacity;

-- name: TakeHeldSeat :execrows
UPDATE sections SET enrolled = enrolled + 1, held = held - 1 WHERE id = ? AND held > 0;

-- name: FreeSeat :exec
UPDATE sections SET enrolled = enrolled - 1, held = held + sqlc.arg(hold) WHERE id = sqlc.arg(id);

-- name: ReleaseHeldSeats :exec
UPDATE sections SET held = 0 WHERE id = ?;

-- name: InsertEnrollment :exec
INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, ?);

-- name: DeleteEnrollment :execrows
DELETE FROM enrollments WHERE user_id = ? AND section_id = ?;

-- name: GetWaitlistEntry :one
SELECT id, status, joined_at FROM waitlist_entries WHERE user_id = ? AND section_id = ?;

-- ClearOldWaitlistEntry removes a left or skipped entry, so rejoining is a new row at
-- the back of the queue.
-- name: ClearOldWaitlistEntry :execrows
DELETE FROM waitlist_entries WHERE id = ? AND status <> 'waiting';

-- JoinWaitlist returns the entry's id: its place in the queue.
-- JoinWaitlist is sent with WaitlistAheadOfNew (db.Deferred), which finds the entry by
-- LAST_INSERT_ID().
-- name: JoinWaitlist :exec
INSERT INTO waitlist_entries (user_id, section_id) VALUES (?, ?);

-- name: SetWaitlistStatus :exec
UPDATE waitlist_entries SET status = ?, reason = ? WHERE id = ?;

-- name: MarkWaitlistEnrolled :exec
UPDATE waitlist_entries SET status = 'enrolled', reason = '' WHERE user_id = ? AND section_id = ? AND status = 'waiting';

-- WaitlistPosition counts the entries waiting ahead of one, as committed now: a locking
-- read, since a plain one reads the transaction's REPEATABLE READ snapshot, which may
-- predate the joins committed while this one waited for the section's row (and tell a
-- place too near the front). The shared locks it takes are on the entries ahead; their
-- writers (a student leaving, a promotion) wait at most for this commit.
-- name: WaitlistPosition :one
SELECT CAST(COUNT(*) AS SIGNED) AS ahead FROM waitlist_entries
WHERE section_id = ? AND status = 'waiting' AND id < ?
LOCK IN SHARE MODE;

-- WaitlistAheadOfNew is WaitlistPosition for the entry this connection inserted last
-- (JoinWaitlist, in the same packet).
-- name: WaitlistAheadOfNew :one
SELECT CAST(COUNT(*) AS SIGNED) AS ahead FROM waitlist_entries
WHERE section_id = ? AND status = 'waiting' AND id < LAST_INSERT_ID()
LOCK IN SHARE MODE;

-- NextWaiting is the first student waiting for the section, as committed now: a locking
-- read, since inside a transaction a plain one reads its REPEATABLE READ snapshot, and a
-- drop whose snapshot predates a join committed while the drop waited for the section's
-- row would free the seat for anyone while that student waits.
-- name: NextWaiting :one
SELECT id, user_id FROM waitlist_entries
WHERE section_id = ? AND status = 'waiting'
ORDER BY id
LIMIT 1
LOCK IN SHARE MODE;

-- name: SectionsWithHeldSeats :many
SELECT id FROM sections WHERE held > 0;

-- RegistrationFacts reads, in one round trip, what the staff's enrollment rules need from
-- the student's own record (a student's own requests check the registration catalog
-- instead): the section held in the course (if any), missing prerequisites, a section
-- meeting at the same time, and the credits registered this term.
-- name: RegistrationFacts :one
SELECT
    CAST(COALESCE((SELECT e.section_id FROM enrollments e
                   WHERE e.user_id = sqlc.arg(user_id) AND e.course_id = sqlc.arg(course_id) AND e.term_id = sqlc.arg(term_id)), 0) AS SIGNED) AS held_section_id,
    COALESCE((SELECT s.number FROM enrollments e JOIN sections s ON s.id = e.section_id
                   WHERE e.user_id = sqlc.arg(user_id) AND e.course_id = sqlc.arg(course_id) AND e.term_id = sqlc.arg(term_id)), '') AS held_number,
    COALESCE((SELECT GROUP_CONCAT(c.code ORDER BY c.code SEPARATOR ',') FROM course_prerequisites p
                   JOIN courses c ON c.id = p.prerequisite_id
                   WHERE p.course_id = sqlc.arg(course_id)
                     AND NOT EXISTS (SELECT 1 FROM completed_courses cc
                                     WHERE cc.user_id = sqlc.arg(user_id) AND cc.course_id = p.prerequisite_id)), '') AS missing,
    COALESCE((SELECT CONCAT(c.code, '-', s.number) FROM enrollments e
                   JOIN sections s ON s.id = e.section_id
                   JOIN courses c ON c.id = s.course_id
                   JOIN section_meetings mine ON mine.section_id = e.section_id
                   JOIN section_meetings want ON want.section_id = sqlc.arg(section_id)
                        AND want.weekday = mine.weekday
                        AND mine.start_minute < want.end_minute AND want.start_minute < mine.end_minute
                   WHERE e.user_id = sqlc.arg(user_id) AND e.term_id = sqlc.arg(term_id)
                   LIMIT 1), '') AS conflict,
    CAST(COALESCE((SELECT SUM(c.credits) FROM enrollments e JOIN courses c ON c.id = e.course_id
                   WHERE e.user_id = sqlc.arg(user_id) AND e.term_id = sqlc.arg(term_id)), 0) AS SIGNED) AS credits;
