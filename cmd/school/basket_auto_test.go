package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/db/dbtest"
)

// school basket-auto runs the current term's auto-enrolment under a staff account's name
// and prints the report; a second run says it enrolled nobody new.
func TestBasketAutoCommand(t *testing.T) {
	sqldb, dsn := dbtest.New(t)
	now := time.Now().UTC()
	for _, stmt := range []struct {
		q    string
		args []any
	}{
		{"INSERT INTO departments (id, code, name) VALUES (1, 'CS', 'Computer Science')", nil},
		{"INSERT INTO terms (id, code, name, starts_on, ends_on, is_current) VALUES (1, '2027-1', 'Spring 2027', ?, ?, TRUE)", []any{now.AddDate(0, 1, 0), now.AddDate(0, 5, 0)}},
		{"INSERT INTO courses (id, department_id, code, title, credits, description) VALUES (1, 1, 'CS101', 'Intro', 3, '')", nil},
		{"INSERT INTO sections (id, course_id, term_id, number, capacity) VALUES (1, 1, 1, '01', 10)", nil},
		{"INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (1, 1, 540, 600)", nil},
		{"INSERT INTO users (id, username, display_name, role, class_year, credit_limit) VALUES (1, 's1', 'S1', 'student', 2, 18), (2, 'reg', 'Registrar', 'staff', NULL, 0)", nil},
		{"INSERT INTO basket_items (user_id, section_id) VALUES (1, 1)", nil},
		{"INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (1, 'basket', ?, ?), (1, 'registration', ?, ?)",
			[]any{now.Add(-48 * time.Hour), now.Add(-24 * time.Hour), now.Add(24 * time.Hour), now.Add(48 * time.Hour)}},
		{"UPDATE catalog_version SET version = version + 1", nil},
	} {
		if _, err := sqldb.Exec(stmt.q, stmt.args...); err != nil {
			t.Fatalf("%s: %v", stmt.q, err)
		}
	}
	basketAuto := func(args ...string) (int, string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var stdout, stderr bytes.Buffer
		code := run(ctx, append([]string{"basket-auto"}, args...), mapEnv(map[string]string{"SCHOOL_DB_DSN": dsn}), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	if code, _, stderr := basketAuto(); code != 1 || !strings.Contains(stderr, "-by is required") {
		t.Errorf("without -by: %d %s", code, stderr)
	}
	if code, _, stderr := basketAuto("-by", "s1"); code != 1 || !strings.Contains(stderr, "no staff account") {
		t.Errorf("-by a student: %d %s", code, stderr)
	}
	if code, stdout, stderr := basketAuto("-plan"); code != 0 || !strings.Contains(stdout, "CS101-01") || !strings.Contains(stdout, "fits") {
		t.Errorf("-plan: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := basketAuto("-by", "reg")
	if code != 0 || !strings.Contains(stdout, "1 sections fitted, 0 over demand; 1 students enrolled in 1 sections") {
		t.Errorf("run: %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = basketAuto("-by", "reg")
	if code != 0 || !strings.Contains(stdout, "nobody new was enrolled") {
		t.Errorf("second run: %d\n%s%s", code, stdout, stderr)
	}
	var n int
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM audit_log WHERE action = 'basket.auto_enroll' AND actor = 'reg' AND actor_id = 2").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d audit rows naming reg (%v), want 2", n, err)
	}
}
