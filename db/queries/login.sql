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

-- LoginFacts is what a sign-in reads before the directory is asked, in one round trip:
-- every throttle key of the attempt (as LoginThrottleRows; a key without a row has
-- NULL failures) and the users row of the name typed, which most sign-ins find
-- unchanged in the directory (web/auth.go syncUser).
-- name: LoginFacts :one
SELECT u.id, u.username, u.student_number, u.display_name, u.email, u.role, d.code AS department_code,
       u.class_year,
       tg.failures AS global_failures, tg.window_started_at AS global_window_started_at, tg.blocked_until AS global_blocked_until,
       ta.failures AS address_failures, ta.window_started_at AS address_window_started_at, ta.blocked_until AS address_blocked_until,
       tu.failures AS account_failures, tu.window_started_at AS account_window_started_at, tu.blocked_until AS account_blocked_until
FROM (SELECT 1 AS one) AS attempt
LEFT JOIN users u ON u.username = sqlc.arg(username)
LEFT JOIN departments d ON d.id = u.department_id
LEFT JOIN login_throttle tg ON tg.k = sqlc.arg(global_key)
LEFT JOIN login_throttle ta ON ta.k = sqlc.arg(address_key)
LEFT JOIN login_throttle tu ON tu.k = sqlc.arg(account_key);
