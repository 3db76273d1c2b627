-- Basket demand: how many baskets hold each section (장바구니 담은 인원), and the basket
-- auto-enrolment (장바구니 자동신청) that reads it.

-- BasketCounts is what each replica keeps in memory for the catalog pages
-- (registration.Service.BasketCount), refreshed every few seconds: for each of the
-- current term's sections, the count of one range of the basket's section index (a
-- GROUP BY over the join groups the whole term's baskets in a temporary table instead).
-- name: BasketCounts :many
SELECT s.id AS section_id,
       CAST((SELECT COUNT(*) FROM basket_items b WHERE b.section_id = s.id) AS SIGNED) AS baskets
FROM sections s JOIN terms t ON t.id = s.term_id
WHERE t.is_current;

-- CatalogDemandWindows are every window with its phase and its basket-count setting, for
-- the registration catalog in memory.
-- name: CatalogDemandWindows :many
SELECT term_id, class_year, phase, opens_at, closes_at, show_basket_counts
FROM registration_windows;

-- name: SetWindowBasketCounts :exec
UPDATE registration_windows SET show_basket_counts = ? WHERE id = ?;

-- BasketDemand is, for each section of the term some basket holds, the baskets of
-- students not holding it yet, and its seats, read live for the auto-enrolment.
-- name: BasketDemand :many
SELECT s.id, s.capacity, s.enrolled, s.held,
       CAST(IF(s.quota_release_at <= NOW(6), 0, s.reserved) AS SIGNED) AS reserved,
       CAST(COUNT(*) AS SIGNED) AS demand
FROM sections s
JOIN basket_items b ON b.section_id = s.id
LEFT JOIN enrollments e ON e.user_id = b.user_id AND e.section_id = b.section_id
WHERE s.term_id = ? AND e.id IS NULL
GROUP BY s.id, s.capacity, s.enrolled, s.held, s.reserved, s.quota_release_at
ORDER BY s.id;

-- TermBaskets are the term's basket items in each student's basket order.
-- name: TermBaskets :many
SELECT b.user_id, b.section_id
FROM basket_items b JOIN sections s ON s.id = b.section_id
WHERE s.term_id = ?
ORDER BY b.user_id, b.created_at, b.section_id;
