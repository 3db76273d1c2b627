-- name: AddToBasket :exec
INSERT IGNORE INTO basket_items (user_id, section_id) VALUES (?, ?);

-- name: RemoveFromBasket :execrows
DELETE FROM basket_items WHERE user_id = ? AND section_id = ?;

-- name: BasketSectionIDs :many
SELECT b.section_id FROM basket_items b
JOIN sections s ON s.id = b.section_id
JOIN terms t ON t.id = s.term_id
WHERE b.user_id = ? AND t.is_current
ORDER BY b.created_at, b.section_id;

-- name: SectionInCurrentTerm :one
SELECT t.is_current FROM sections s JOIN terms t ON t.id = s.term_id WHERE s.id = ?;
