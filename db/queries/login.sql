-- name: LoginLockedUntil :one
SELECT locked_until FROM login_failures WHERE username = sqlc.arg(username) AND locked_until > sqlc.arg(now);

-- RecordLoginFailure counts a failure in the current window and locks the account once
-- max_failures is reached. MySQL applies the assignments left to right, so each one still
-- sees the old window.
-- name: RecordLoginFailure :exec
INSERT INTO login_failures (username, failures, window_started_at, locked_until)
VALUES (sqlc.arg(username), 1, sqlc.arg(now), NULL)
ON DUPLICATE KEY UPDATE
    locked_until = IF(window_started_at < sqlc.arg(window_start), NULL,
                      IF(failures + 1 >= sqlc.arg(max_failures), sqlc.arg(lock_until), locked_until)),
    failures = IF(window_started_at < sqlc.arg(window_start), 1, failures + 1),
    window_started_at = IF(window_started_at < sqlc.arg(window_start), sqlc.arg(now), window_started_at);

-- name: ClearLoginFailures :exec
DELETE FROM login_failures WHERE username = ?;
