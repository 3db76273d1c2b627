-- The audit log of staff changes.

-- name: InsertAudit :exec
INSERT INTO audit_log (actor_id, actor, action, entity, entity_id, details)
VALUES (?, ?, ?, ?, ?, ?);

-- name: ListAudit :many
-- Newest first; an empty entity means every kind, a zero entity_id every row of it.
SELECT id, actor, action, entity, entity_id, details, created_at
FROM audit_log
WHERE (sqlc.arg(entity) = '' OR entity = sqlc.arg(entity))
  AND (sqlc.arg(entity_id) = 0 OR entity_id = sqlc.arg(entity_id))
  AND (sqlc.arg(before_id) = 0 OR id < sqlc.arg(before_id))
ORDER BY id DESC
LIMIT ?;

-- name: ListAuditEntities :many
SELECT DISTINCT entity FROM audit_log ORDER BY entity;
