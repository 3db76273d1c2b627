-- UpsertUser syncs a directory account; LAST_INSERT_ID(id) makes the result carry the row's
-- id whether it was inserted or updated. A sync that is no sign-in (the periodic check of a
-- signed-in account) passes a NULL last_login_at and keeps the one there.
-- name: UpsertUser :execresult
INSERT INTO users (username, student_number, display_name, email, role, department_id, class_year, last_login_at)
VALUES (sqlc.arg(username), sqlc.narg(student_number), sqlc.arg(display_name), sqlc.arg(email), sqlc.arg(role),
        (SELECT d.id FROM departments d WHERE d.code = sqlc.arg(department_code)),
        sqlc.narg(class_year), sqlc.arg(last_login_at))
ON DUPLICATE KEY UPDATE
    id = LAST_INSERT_ID(id),
    student_number = VALUES(student_number),
    display_name = VALUES(display_name),
    email = VALUES(email),
    role = VALUES(role),
    department_id = VALUES(department_id),
    class_year = VALUES(class_year),
    last_login_at = COALESCE(VALUES(last_login_at), last_login_at);

-- name: GetUser :one
SELECT id, username, student_number, display_name, email, role, department_id, class_year, credit_limit
FROM users WHERE id = ?;

-- AccountCheck is what the periodic check of a signed-in account compares with the
-- directory and with the staff's last "end every session".
-- name: AccountCheck :one
SELECT role, display_name, class_year, sessions_ended_at FROM users WHERE id = ?;

-- name: AccountByUsername :one
SELECT u.id, u.username, u.student_number, u.display_name, u.email, u.role, d.code AS department_code,
       u.class_year, u.last_login_at, u.sessions_ended_at
FROM users u LEFT JOIN departments d ON d.id = u.department_id
WHERE u.username = ?;

-- name: MarkSessionsEnded :execrows
UPDATE users SET sessions_ended_at = sqlc.arg(ended_at) WHERE id = sqlc.arg(id);

-- TouchLastLogin records sign-ins in batches (web/last_login.go): one write for many,
-- instead of a durable commit on every sign-in.
-- name: TouchLastLogin :execrows
UPDATE users SET last_login_at = sqlc.arg(at)
WHERE id IN (sqlc.slice(ids)) AND (last_login_at IS NULL OR last_login_at < sqlc.arg(at));
