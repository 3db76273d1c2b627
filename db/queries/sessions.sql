-- name: DeleteExpiredSessions :execrows
DELETE FROM sessions WHERE expiry < sqlc.arg(now);
