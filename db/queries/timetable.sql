-- TimetableMeetings lists a student's enrolled sections of a term, one row per meeting.
-- A section without meetings (online, arranged) still comes back once, with NULL times,
-- so it shows in the section list and counts toward the credits.
-- name: TimetableMeetings :many
SELECT s.id AS section_id, c.code AS course_code, c.title, s.number, s.room, s.instructor,
       c.credits, m.weekday, m.start_minute, m.end_minute
FROM enrollments e
JOIN sections s ON s.id = e.section_id
JOIN courses c ON c.id = s.course_id
LEFT JOIN section_meetings m ON m.section_id = s.id
WHERE e.user_id = sqlc.arg(user_id) AND e.term_id = sqlc.arg(term_id)
ORDER BY c.code, s.number, m.weekday, m.start_minute;
