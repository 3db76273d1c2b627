package registration_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/registration"
)

// BenchmarkBasketCounts is one replica's refresh of the basket counts at the rehearsal's
// size: 20,000 students with 5 sections each in their basket, among 2,000 sections.
func BenchmarkBasketCounts(b *testing.B) {
	sqldb, _ := dbtest.New(b)
	for _, q := range []string{
		"INSERT INTO departments (id, code, name) VALUES (1, 'CS', 'CS')",
		"INSERT INTO terms (id, code, name, starts_on, ends_on, is_current) VALUES (1, '2027-1', 'Spring', '2027-03-01', '2027-06-30', TRUE)",
		"INSERT INTO courses (id, department_id, code, title, credits, description) SELECT seq, 1, CONCAT('C', seq), 'T', 3, '' FROM seq_1_to_2000",
		"INSERT INTO sections (id, course_id, term_id, number, capacity) SELECT seq, seq, 1, '01', 30 FROM seq_1_to_2000",
		"INSERT INTO users (id, username, display_name, role, class_year, credit_limit) SELECT seq, CONCAT('s', seq), 'S', 'student', 2, 18 FROM seq_1_to_20000",
		"INSERT INTO basket_items (user_id, section_id) SELECT u.seq, 1 + (u.seq * 7 + k.seq * 397) % 2000 FROM seq_1_to_20000 u, seq_0_to_4 k",
		"ANALYZE TABLE basket_items, sections, terms",
	} {
		if _, err := sqldb.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	svc := registration.New(sqldb, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := svc.RefreshBasketCounts(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	total := 0
	for id := int64(1); id <= 2000; id++ {
		total += svc.BasketCount(id)
	}
	if total != 100000 {
		b.Fatalf("counted %d baskets, want 100000", total)
	}
}
