-- LoginThrottleRows reads every key of one sign-in attempt (web/throttle.go says what
-- they are) in one statement: the login path is hot, and only a failure writes.
-- name: LoginThrottleRows :many
SELECT k, failures, window_started_at, blocked_until
FROM login_throttle
WHERE k IN (sqlc.arg(global_key), sqlc.arg(address_key), sqlc.arg(account_key));

-- RecordLoginFailure counts one failure under the global, the address and the account key
-- in one statement: MySQL does the counting, so replicas failing at once lose no count. A
-- key whose window has ended starts a new one. Past its free failures in the window, the
-- address or account key is blocked for base_delay_us, doubled for each further failure
-- (at most 2^20 times: web checks that this reaches max_delay_us without overflowing),
-- never longer than max_delay_us; the global key is never blocked (its free count is
-- NULL). MySQL applies the assignments left to right, so each one still sees the row's old
-- count and window; VALUES(window_started_at) is the attempt's time.
-- name: RecordLoginFailure :exec
INSERT INTO login_throttle (k, failures, window_started_at, blocked_until)
VALUES (sqlc.arg(global_key), 1, sqlc.arg(now), NULL),
       (sqlc.arg(address_key), 1, sqlc.arg(now), NULL),
       (sqlc.arg(account_key), 1, sqlc.arg(now), NULL)
ON DUPLICATE KEY UPDATE
    blocked_until = IF(
        window_started_at > sqlc.arg(window_start)
            AND failures >= IF(k = sqlc.arg(address_key), CAST(sqlc.arg(address_free) AS SIGNED),
                            IF(k = sqlc.arg(account_key), CAST(sqlc.arg(account_free) AS SIGNED), NULL)),
        GREATEST(
            COALESCE(blocked_until, VALUES(window_started_at)),
            VALUES(window_started_at) + INTERVAL LEAST(
                CAST(sqlc.arg(max_delay_us) AS SIGNED),
                CAST(sqlc.arg(base_delay_us) AS SIGNED) << LEAST(
                    failures - IF(k = sqlc.arg(address_key), CAST(sqlc.arg(address_free) AS SIGNED),
                                  CAST(sqlc.arg(account_free) AS SIGNED)),
                    20)) MICROSECOND),
        blocked_until),
    failures = IF(window_started_at > sqlc.arg(window_start), failures + 1, 1),
    window_started_at = IF(window_started_at > sqlc.arg(window_start), window_started_at, VALUES(window_started_at));

-- ClearLoginThrottleKey forgets an account's failures from one address once its owner
-- has signed in there.
-- name: ClearLoginThrottleKey :exec
DELETE FROM login_throttle WHERE k = ?;

-- DeleteEndedLoginThrottle prunes keys whose window has ended and whose block has
-- passed, a batch at a time so that no one statement holds many locks.
-- name: DeleteEndedLoginThrottle :execrows
DELETE FROM login_throttle
WHERE window_started_at <= sqlc.arg(window_start)
  AND (blocked_until IS NULL OR blocked_until <= sqlc.arg(now))
LIMIT ?;
