-- Notifications: a student's own notices of what happened to them, and their e-mail outbox.

-- name: InsertNotification :exec
INSERT INTO notifications (user_id, kind, args) VALUES (?, ?, ?);

-- InsertWindowNotifications tells every student a registration window applies to, in one
-- statement: all students when everyone is set, else those of the class years given.
-- InsertWindowNotifications tells the students of ids [from_id, to_id) a window moved. It
-- runs after the window's change committed, a range at a time and on its own: the users
-- rows it reads are the ones every registration locks first, and a statement over all of
-- them inside the staff's transaction held every registration behind it.
-- name: InsertWindowNotifications :execrows
INSERT INTO notifications (user_id, kind, args)
SELECT u.id, 'window_moved', sqlc.arg(args) FROM users u
WHERE u.id >= sqlc.arg(from_id) AND u.id < sqlc.arg(to_id)
  AND u.role = 'student' AND (sqlc.arg(everyone) OR u.class_year IN (sqlc.arg(old_year), sqlc.arg(new_year)));

-- name: MaxUserID :one
SELECT CAST(COALESCE(MAX(id), 0) AS SIGNED) FROM users;

-- name: UnreadNotifications :one
SELECT CAST(COUNT(*) AS SIGNED) FROM notifications WHERE user_id = ? AND read_at IS NULL;

-- name: ListNotifications :many
SELECT id, kind, args, created_at, read_at FROM notifications
WHERE user_id = ?
ORDER BY id DESC
LIMIT ?;

-- name: MarkNotificationRead :execrows
UPDATE notifications SET read_at = ? WHERE id = ? AND user_id = ? AND read_at IS NULL;

-- name: MarkAllNotificationsRead :execrows
UPDATE notifications SET read_at = ? WHERE user_id = ? AND read_at IS NULL;

-- name: SetUserLocale :exec
UPDATE users SET locale = ? WHERE id = ?;

-- ClaimMail picks e-mails due to be sent, skipping rows another sender holds, so replicas
-- share the outbox. It locks only notification rows: joining users here would lock the
-- students' rows, the lock registration serialises on.
-- name: ClaimMail :many
SELECT id FROM notifications
WHERE mail_state = 'pending' AND (mail_next_at IS NULL OR mail_next_at <= ?)
ORDER BY id
LIMIT ?
FOR UPDATE SKIP LOCKED;

-- LeaseMail keeps a claimed e-mail from other senders until the lease ends; a sender
-- that stops before it finishes leaves the e-mail to be tried again then.
-- name: LeaseMail :exec
UPDATE notifications SET mail_next_at = sqlc.arg(mail_next_at), mail_attempts = mail_attempts + 1
WHERE id IN (sqlc.slice(ids));

-- name: MailToSend :many
SELECT n.id, n.kind, n.args, n.created_at, n.mail_attempts, u.email, u.locale, u.display_name
FROM notifications n JOIN users u ON u.id = n.user_id
WHERE n.id IN (sqlc.slice(ids));

-- name: FinishMail :exec
UPDATE notifications SET mail_state = ?, mailed_at = ? WHERE id = ? AND mail_state = 'pending';

-- name: RetryMail :exec
UPDATE notifications SET mail_next_at = ? WHERE id = ? AND mail_state = 'pending';

-- ExpireMail gives up on e-mails that waited longer than anyone would want them.
-- name: ExpireMail :execrows
UPDATE notifications SET mail_state = 'expired' WHERE mail_state = 'pending' AND created_at < ?;

-- name: PendingMail :one
SELECT CAST(COUNT(*) AS SIGNED) FROM notifications WHERE mail_state = 'pending';
