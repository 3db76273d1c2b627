-- +goose Up
-- A notification tells one student that something happened to them (a waitlist seat
-- came, staff enrolled or dropped them, a registration window of theirs moved). It is
-- written in the transaction of the event itself, so it exists exactly when the event
-- committed. kind names the message and args fills it (JSON): the text is rendered in the
-- student's language when it is read or mailed, not stored.
-- The row is also the e-mail's outbox: mail_state says where its e-mail is, mail_next_at
-- when a sender may try it (NULL: at once), mail_attempts how often one has.
CREATE TABLE notifications (
    id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    kind VARCHAR(32) NOT NULL,
    args JSON NOT NULL,
    created_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    read_at DATETIME(6) NULL,
    mail_state ENUM('pending', 'sent', 'skipped', 'failed', 'expired') NOT NULL DEFAULT 'pending',
    mail_attempts INT NOT NULL DEFAULT 0,
    mail_next_at DATETIME(6) NULL,
    mailed_at DATETIME(6) NULL,
    KEY notifications_user (user_id, read_at),
    KEY notifications_mail (mail_state, mail_next_at),
    CONSTRAINT notifications_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- The language a student last chose in the app, for what reaches them outside it (e-mail).
ALTER TABLE users ADD COLUMN locale VARCHAR(8) NULL;

-- +goose Down
ALTER TABLE users DROP COLUMN locale;
DROP TABLE notifications;
