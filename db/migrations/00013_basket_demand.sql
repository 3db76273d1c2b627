-- +goose Up
-- Basket demand (issue 18): staff choose per registration window whether students see how
-- many baskets hold each section and its competition ratio; hidden unless they say so.
ALTER TABLE registration_windows
    ADD COLUMN show_basket_counts BOOLEAN NOT NULL DEFAULT FALSE;

-- A seat the basket auto-enrolment took (registration.AutoEnroll) says so, for the staff's
-- lists and exports.
ALTER TABLE enrollments
    MODIFY source ENUM('register', 'waitlist', 'staff', 'basket') NOT NULL;

-- +goose Down
DELETE FROM enrollments WHERE source = 'basket';
ALTER TABLE enrollments
    MODIFY source ENUM('register', 'waitlist', 'staff') NOT NULL;
ALTER TABLE registration_windows DROP COLUMN show_basket_counts;
