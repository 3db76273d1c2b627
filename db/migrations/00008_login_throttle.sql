-- +goose Up
-- Failed sign-ins, shared by every replica, counted under three kinds of key:
--   'a <address>'            one client address (an IPv6 client's /64),
--   'u <address> <account>'  one account from one address,
--   'g'                      every address together (the global failure budget).
-- Nothing is counted per account alone: a spray from one place must never lock the account
-- owner out on their own device. A key's failures count for one window from its first
-- failure; past its free failures, each further one blocks the key for a delay that doubles.
-- Rows whose window has ended and whose block has passed are pruned by the app.
CREATE TABLE login_throttle (
    k VARBINARY(320) NOT NULL PRIMARY KEY,
    failures INT NOT NULL,
    window_started_at DATETIME(6) NOT NULL,
    blocked_until DATETIME(6) NULL,
    -- The prune scans by window, so it locks only the rows it deletes.
    KEY login_throttle_window (window_started_at)
) ENGINE=InnoDB;

DROP TABLE login_failures;

-- +goose Down
CREATE TABLE login_failures (
    username VARCHAR(64) NOT NULL PRIMARY KEY,
    failures INT NOT NULL,
    window_started_at DATETIME(6) NOT NULL,
    locked_until DATETIME(6) NULL
) ENGINE=InnoDB;

DROP TABLE login_throttle;
