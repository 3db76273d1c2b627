-- +goose Up
-- A section's quotas are tried in the order staff list them. That order was the ids',
-- but a quota kept when staff edit the list keeps its id, so listing the same quotas in
-- another order changed nothing: the order is a column of its own, written at every
-- edit. Existing quotas keep the order they had.
ALTER TABLE section_quotas ADD COLUMN position INT NOT NULL DEFAULT 0;
UPDATE section_quotas q
JOIN (SELECT id, ROW_NUMBER() OVER (PARTITION BY section_id ORDER BY id) - 1 AS pos FROM section_quotas) r ON r.id = q.id
SET q.position = r.pos;

-- +goose Down
ALTER TABLE section_quotas DROP COLUMN position;
