-- name: DeleteExpiredSessions :execrows
DELETE FROM sessions WHERE expiry < sqlc.arg(now);

-- The session store's statements (web/session_store.go), on the table and with the
-- meaning of scs's mysqlstore.
-- name: FindSession :one
SELECT data FROM sessions WHERE token = sqlc.arg(token) AND expiry > sqlc.arg(now);

-- name: CommitSession :exec
INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)
ON DUPLICATE KEY UPDATE data = VALUES(data), expiry = VALUES(expiry);

-- name: DeleteSession :exec
DELETE FROM sessions WHERE token = ?;

-- name: AllSessions :many
SELECT token, data FROM sessions WHERE expiry > sqlc.arg(now);
