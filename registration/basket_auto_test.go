package registration_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// basketPhase replaces the fixture's open window with a basket phase that closed
// yesterday and a registration window for class year 2 only, opening tomorrow.
func (w *world) basketPhase() {
	w.exec("DELETE FROM registration_windows")
	w.window(nil, "basket", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	w.window(2, "registration", now.Add(24*time.Hour), now.Add(48*time.Hour))
}

// basket puts the sections in the student's basket in this order.
func (w *world) basket(student int64, sections ...int64) {
	w.t.Helper()
	for i, sec := range sections {
		w.exec("INSERT INTO basket_items (user_id, section_id, created_at) VALUES (?, ?, ?)",
			student, sec, now.Add(-30*time.Hour).Add(time.Duration(i)*time.Minute))
	}
}

// state is what a run may change: every enrollment and basket item, and the counters.
func (w *world) state() [3]int {
	return [3]int{w.count("SELECT COUNT(*) FROM enrollments"), w.count("SELECT COUNT(*) FROM basket_items"),
		w.count("SELECT COALESCE(SUM(enrolled), 0) FROM sections")}
}

// The auto-enrolment gives the baskets of the sections whose demand fits their free seats,
// through every registration rule, leaves the sections over demand alone, records its
// counts, and changes nothing when run again.
func TestAutoEnroll(t *testing.T) {
	w := newWorld(t)
	w.basketPhase()
	ctx := context.Background()
	st := w.students(7, 18)
	s1, s2, s3, s4, s5, s6, s7 := st[0], st[1], st[2], st[3], st[4], st[5], st[6]
	w.exec("UPDATE users SET class_year = 3 WHERE id = ?", s3) // no registration window for year 3
	w.exec("UPDATE users SET credit_limit = 6 WHERE id = ?", s6)

	a := w.sectionAt(w.course("CS101", 3), "01", 3, meeting{mon, hm(9, 0), hm(10, 15)})
	b := w.sectionAt(w.course("CS102", 3), "01", 2, meeting{tue, hm(9, 0), hm(10, 15)})
	c := w.sectionAt(w.course("CS103", 3), "01", 5, meeting{mon, hm(9, 30), hm(10, 30)}) // clashes with a
	prereq := w.course("CS100", 3)
	dCourse := w.course("CS104", 3)
	w.exec("INSERT INTO course_prerequisites (course_id, prerequisite_id) VALUES (?, ?)", dCourse, prereq)
	w.exec("INSERT INTO completed_courses (user_id, course_id, term_code, grade) VALUES (?, ?, '2026-2', 'A')", s5, prereq)
	d := w.sectionAt(dCourse, "01", 5, meeting{wed, hm(9, 0), hm(10, 0)})
	f1 := w.sectionAt(w.course("CS201", 3), "01", 5, meeting{tue, hm(13, 0), hm(14, 0)})
	f2 := w.sectionAt(w.course("CS202", 4), "01", 5, meeting{wed, hm(13, 0), hm(14, 0)})
	dup := w.course("CS105", 3)
	e1 := w.sectionAt(dup, "01", 5, meeting{tue, hm(15, 0), hm(16, 0)})
	e2 := w.sectionAt(dup, "02", 5, meeting{wed, hm(15, 0), hm(16, 0)})
	hCourse := w.course("CS106", 1)
	h := w.sectionAt(hCourse, "01", 2, meeting{mon, hm(17, 0), hm(18, 0)})
	// s7 registered for h already: one seat left for two baskets.
	w.exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, 'register')", s7, h, hCourse, w.term)
	w.exec("UPDATE sections SET enrolled = 1 WHERE id = ?", h)

	w.basket(s1, a, b, c, h)
	w.basket(s2, a, b, d, h)
	w.basket(s3, a)
	w.basket(s4, b, c)
	w.basket(s5, d, e1, e2)
	w.basket(s6, f1, f2)
	w.basket(s7, h) // holds it already: not demand

	by := db.Actor{Username: "registrar"}
	rep, err := w.svc.AutoEnroll(ctx, by, w.term)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[int64]registration.AutoSection{}
	for _, l := range rep.Sections {
		lines[l.SectionID] = l
	}
	for _, want := range []struct {
		name             string
		sec              int64
		demand, enrolled int
		fits             bool
		refused          map[registration.Result]int
	}{
		{"a: s3's year has no registration window", a, 3, 2, true, map[registration.Result]int{registration.WindowClosed: 1}},
		{"b: over demand", b, 3, 0, false, nil},
		{"c: clashes with a, earlier in s1's basket", c, 2, 1, true, map[registration.Result]int{registration.TimeConflict: 1}},
		{"d: s2 lacks the prerequisite", d, 2, 1, true, map[registration.Result]int{registration.Prerequisite: 1}},
		{"f1", f1, 1, 1, true, nil},
		{"f2: over s6's credit limit after f1", f2, 1, 0, true, map[registration.Result]int{registration.CreditLimit: 1}},
		{"e1", e1, 1, 1, true, nil},
		{"e2: another section of e1's course", e2, 1, 0, true, map[registration.Result]int{registration.Duplicate: 1}},
		{"h: two baskets, one free seat", h, 2, 0, false, nil},
	} {
		got := lines[want.sec]
		if got.Demand != want.demand || got.Fits != want.fits || got.Enrolled != want.enrolled || !maps.Equal(got.Refused, want.refused) && len(want.refused)+len(got.Refused) > 0 {
			t.Errorf("%s: demand %d fits %v enrolled %d refused %v; want %d %v %d %v", want.name, got.Demand, got.Fits, got.Enrolled, got.Refused,
				want.demand, want.fits, want.enrolled, want.refused)
		}
	}
	if len(lines) != 9 {
		t.Errorf("%d sections in the report, want 9", len(lines))
	}
	holds := map[[2]int64]bool{{s1, a}: true, {s2, a}: true, {s4, c}: true, {s5, d}: true, {s6, f1}: true, {s5, e1}: true, {s7, h}: true}
	for _, stu := range st {
		for _, sec := range []int64{a, b, c, d, f1, f2, e1, e2, h} {
			if got := w.holds(stu, sec); got != holds[[2]int64{stu, sec}] {
				t.Errorf("student %d holds section %d: %v", stu, sec, got)
			}
		}
	}
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE source = 'basket'"); n != 6 {
		t.Errorf("%d enrollments recorded as the basket's, want 6", n)
	}
	// An enrolled basket leaves the basket; a refused or over-demand one stays for the morning.
	if w.count("SELECT COUNT(*) FROM basket_items WHERE user_id = ? AND section_id = ?", s1, a) != 0 ||
		w.count("SELECT COUNT(*) FROM basket_items WHERE user_id = ? AND section_id IN (?, ?, ?)", s1, b, c, h) != 3 {
		t.Error("s1's basket: a should be gone, b, c and h kept")
	}
	w.checkInvariants()

	wantCounts := map[string]any{"sections_fitted": 7.0, "sections_over": 2.0, "students_enrolled": 5.0, "enrollments": 6.0,
		"refusals": map[string]any{"window_closed": 1.0, "time_conflict": 1.0, "prerequisite": 1.0, "credit_limit": 1.0, "duplicate": 1.0}}
	checkAudit := func(n int, want map[string]any) {
		t.Helper()
		rows := auditRuns(t, w)
		if len(rows) != n {
			t.Fatalf("%d audit rows of runs, want %d", len(rows), n)
		}
		got := rows[n-1]
		for k, v := range want {
			if gb, _ := json.Marshal(got[k]); string(gb) != mustJSON(t, v) {
				t.Errorf("audit row %d: %s = %s, want %s", n, k, gb, mustJSON(t, v))
			}
		}
	}
	checkAudit(1, wantCounts)

	// Twice: nobody new, nothing changed but the second run's own audit row.
	before := w.state()
	rep2, err := w.svc.AutoEnroll(ctx, by, w.term)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.Enrollments != 0 || rep2.Students != 0 {
		t.Errorf("second run enrolled %d seats for %d students", rep2.Enrollments, rep2.Students)
	}
	if after := w.state(); after != before {
		t.Errorf("second run changed enrollments, baskets, seats: %v → %v", before, after)
	}
	checkAudit(2, map[string]any{"students_enrolled": 0.0, "enrollments": 0.0, "sections_over": 2.0,
		"refusals": map[string]any{"window_closed": 1.0, "time_conflict": 1.0, "prerequisite": 1.0, "credit_limit": 1.0, "duplicate": 1.0}})
	w.checkInvariants()
}

func TestAutoEnrollOnlyAfterTheBasketPhase(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	// The fixture's only window is a registration one: no basket phase has closed.
	if _, err := w.svc.AutoEnroll(ctx, db.Actor{Username: "registrar"}, w.term); !errors.Is(err, registration.ErrNoBasketPhase) {
		t.Errorf("no basket phase: %v", err)
	}
	w.window(nil, "basket", now.Add(-time.Hour), now.Add(time.Hour))
	var open *registration.ErrBasketOpen
	if _, err := w.svc.AutoEnroll(ctx, db.Actor{Username: "registrar"}, w.term); !errors.As(err, &open) || !open.Closes.Equal(now.Add(time.Hour)) {
		t.Errorf("basket phase open: %v", err)
	}
	if n := len(auditRuns(t, w)); n != 0 {
		t.Errorf("%d runs audited, want none", n)
	}
}

// auditRuns are the runs' recorded counts, oldest first.
func auditRuns(t *testing.T, w *world) []map[string]any {
	t.Helper()
	rows, err := w.db.Query("SELECT details FROM audit_log WHERE action = 'basket.auto_enroll' AND entity = 'term' AND entity_id = ? ORDER BY id", w.term)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var raw []byte
		var d struct {
			After map[string]any `json:"after"`
		}
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d.After)
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A section's quota seats are left to the students they are for: the auto-enrolment fits
// baskets against the open seats only, and once the quotas are released, against all.
func TestAutoEnrollLeavesQuotaSeats(t *testing.T) {
	w := newWorld(t)
	w.basketPhase()
	ctx := context.Background()
	st := w.students(3, 18)
	q := w.sectionAt(w.course("CS301", 3), "01", 4, meeting{mon, hm(9, 0), hm(10, 15)})
	w.quota(q, 4, 0, 2) // 2 of 4 seats kept for the fourth year: 2 open
	w.basket(st[0], q)
	w.basket(st[1], q)
	w.basket(st[2], q)
	by := db.Actor{Username: "registrar"}
	rep, err := w.svc.AutoEnroll(ctx, by, w.term)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sections) != 1 || rep.Sections[0].Fits || rep.Sections[0].Free() != 2 {
		t.Fatalf("3 baskets for 2 open seats (2 kept for a quota): %+v, want not fitted with 2 free", rep.Sections)
	}
	if n := w.count("SELECT COUNT(*) FROM enrollments"); n != 0 {
		t.Errorf("%d enrolled from a section over its open seats", n)
	}
	w.releaseQuotas(q, -1)
	if rep, err = w.svc.AutoEnroll(ctx, by, w.term); err != nil {
		t.Fatal(err)
	}
	if !rep.Sections[0].Fits || rep.Sections[0].Enrolled != 3 {
		t.Errorf("after the release, 3 baskets for 4 seats: %+v, want all 3 enrolled", rep.Sections[0])
	}
	w.checkInvariants()
}
