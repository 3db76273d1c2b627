-- +goose Up
-- Session tokens (scs: base64url) and request keys (rand.Text: base32) are ASCII made by
-- the app, and mean what their bytes say. Under utf8mb4_unicode_ci every comparison on
-- their primary keys weighed each character by the Unicode collation, and two tokens
-- differing only in case were one. Byte for byte, the session read (the first statement
-- of every signed-in request) and a request key's insert cost mariadbd less
-- (BENCHMARKS.md, "nineteenth"). The app no longer sends either table a value with a
-- character outside ASCII (web/session_store.go, registration.ValidKey); rows holding one,
-- which the app never made, are dropped, since the column cannot hold them.
DELETE FROM registration_requests WHERE LENGTH(request_key) <> CHAR_LENGTH(request_key);
ALTER TABLE registration_requests
    MODIFY request_key VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;
DELETE FROM sessions WHERE LENGTH(token) <> CHAR_LENGTH(token);
ALTER TABLE sessions
    MODIFY token CHAR(43) CHARACTER SET ascii COLLATE ascii_bin NOT NULL;

-- +goose Down
-- Fails on two keys (or tokens) of one student that differ only in case, which the
-- collation of before calls the same.
ALTER TABLE sessions
    MODIFY token CHAR(43) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
ALTER TABLE registration_requests
    MODIFY request_key VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL;
