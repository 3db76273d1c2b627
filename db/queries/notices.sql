-- Notices: staff write Markdown; students read the published ones.

-- name: InsertNotice :execlastid
INSERT INTO notices (title, body, pinned, author_id) VALUES (?, ?, ?, ?);

-- name: UpdateNotice :execrows
UPDATE notices SET title = ?, body = ?, pinned = ? WHERE id = ?;

-- name: GetNotice :one
SELECT id, title, body, pinned, published_at, created_at, updated_at FROM notices WHERE id = ?;

-- name: LockNotice :one
SELECT id, title, body, pinned, published_at FROM notices WHERE id = ? FOR UPDATE;

-- name: GetPublishedNotice :one
SELECT id, title, body, pinned, published_at FROM notices WHERE id = ? AND published_at IS NOT NULL;

-- name: SetNoticePublished :execrows
UPDATE notices SET published_at = ? WHERE id = ?;

-- name: SetNoticePinned :execrows
UPDATE notices SET pinned = ? WHERE id = ?;

-- PublishedNotices: pinned first, then newest.
-- name: PublishedNotices :many
SELECT id, title, body, pinned, published_at FROM notices
WHERE published_at IS NOT NULL
ORDER BY pinned DESC, published_at DESC, id DESC
LIMIT ?;

-- name: ListNotices :many
SELECT id, title, pinned, published_at, updated_at FROM notices
ORDER BY pinned DESC, COALESCE(published_at, created_at) DESC, id DESC;

-- name: DeleteAllNotices :exec
DELETE FROM notices;
