-- +goose Up
-- When staff last ended every session of the account. Ending them deletes the stored
-- sessions at once; a session a request in flight wrote back after that delete was last
-- confirmed before this time, and its next check of the account ends it.
ALTER TABLE users ADD COLUMN sessions_ended_at DATETIME(6) NULL;

-- +goose Down
ALTER TABLE users DROP COLUMN sessions_ended_at;
