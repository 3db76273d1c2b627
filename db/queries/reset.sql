-- Demo reset, child tables first. Used only by `school seed -replace`.

-- name: DeleteAllRegistrationRequests :exec
DELETE FROM registration_requests;
-- name: DeleteAllBasketItems :exec
DELETE FROM basket_items;
-- name: DeleteAllWaitlistEntries :exec
DELETE FROM waitlist_entries;
-- name: DeleteAllEnrollments :exec
DELETE FROM enrollments;
-- name: DeleteAllRegistrationWindows :exec
DELETE FROM registration_windows;
-- name: DeleteAllCompletedCourses :exec
DELETE FROM completed_courses;
-- name: DeleteAllMeetings :exec
DELETE FROM section_meetings;
-- name: DeleteAllSections :exec
DELETE FROM sections;
-- name: DeleteAllPrerequisites :exec
DELETE FROM course_prerequisites;
-- name: DeleteAllCourses :exec
DELETE FROM courses;
-- name: DeleteAllTerms :exec
DELETE FROM terms;
-- name: DeleteAllSessions :exec
DELETE FROM sessions;
-- name: DeleteAllLoginThrottle :exec
DELETE FROM login_throttle;
-- name: DeleteAllUsers :exec
DELETE FROM users;
-- name: DeleteAllDepartments :exec
DELETE FROM departments;
