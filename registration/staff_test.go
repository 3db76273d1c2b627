package registration_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

var staffMember = db.Actor{Username: "sam"}

// audit is the details of the newest audit row of action; ok is false when there is none.
func (w *world) audit(action string) (details map[string]any, ok bool) {
	w.t.Helper()
	var raw []byte
	err := w.db.QueryRow("SELECT details FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1", action).Scan(&raw)
	if err != nil {
		return nil, false
	}
	if err := json.Unmarshal(raw, &details); err != nil {
		w.t.Fatal(err)
	}
	return details, true
}

// TestStaffEnrollAndDrop: staff waive the prerequisites and the credit limit, not a free
// seat or a time conflict, and each change is kept with its audit row.
func TestStaffEnrollAndDrop(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	intro := w.course("CS101", 3)
	next := w.course("CS201", 3)
	w.exec("INSERT INTO course_prerequisites (course_id, prerequisite_id) VALUES (?, ?)", next, intro)
	sec := w.sectionAt(next, "01", 1, meeting{mon, hm(9, 0), hm(10, 15)})
	clash := w.sectionAt(intro, "01", 10, meeting{mon, hm(9, 30), hm(10, 0)})
	s1 := w.students(1, 2)[0] // a credit limit of 2: CS201 is over it
	s2, s3 := w.student(), w.student()
	change := func(student, section int64) registration.StaffChange {
		return registration.StaffChange{By: staffMember, StudentID: student, Student: "s1", SectionID: section, Reason: "dean approved"}
	}

	out, waived, err := w.svc.StaffEnroll(ctx, change(s1, sec))
	if err != nil || out.Result != registration.Enrolled || !slices.Equal(waived, []registration.Result{registration.Prerequisite, registration.CreditLimit}) {
		t.Fatalf("staff enroll: %+v waived %v (%v)", out, waived, err)
	}
	after, _ := w.audit("section.enroll")
	if after["after"].(map[string]any)["section"] != "CS201-01" || after["reason"] != "dean approved" {
		t.Errorf("section.enroll details %v", after)
	}
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ? AND source = 'staff'", s1, sec); n != 1 {
		t.Error("no staff enrollment")
	}
	if out, _, err := w.svc.StaffEnroll(ctx, change(s2, sec)); err != nil || out.Result != registration.Full {
		t.Errorf("a full section: %+v (%v)", out, err)
	}
	if out, _, err := w.svc.StaffEnroll(ctx, change(s1, clash)); err != nil || out.Result != registration.TimeConflict || out.Other != "CS201-01" {
		t.Errorf("a time conflict: %+v (%v)", out, err)
	}
	if _, _, err := w.svc.StaffEnroll(ctx, change(w.id(w.exec("INSERT INTO users (username, display_name, role) VALUES ('sam', 'Sam', 'staff')")), sec)); !errors.Is(err, registration.ErrNotStudent) {
		t.Errorf("a staff account: %v, want ErrNotStudent", err)
	}
	if n := w.count("SELECT COUNT(*) FROM audit_log"); n != 1 {
		t.Errorf("%d audit rows, want only the enrollment's", n)
	}

	// The seat given up goes to the waitlist.
	w.exec("INSERT INTO completed_courses (user_id, course_id, term_code, grade) VALUES (?, ?, '2026-2', 'A')", s3, intro)
	if out := w.join(s3, sec); out.Result != registration.Waitlisted {
		t.Fatalf("join: %+v", out)
	}
	out, err = w.svc.StaffDrop(ctx, change(s1, sec))
	if err != nil || out.Result != registration.Dropped {
		t.Fatalf("staff drop: %+v (%v)", out, err)
	}
	if d, _ := w.audit("section.drop"); d["before"].(map[string]any)["student"] != "s1" || d["reason"] != "dean approved" {
		t.Errorf("section.drop details %v", d)
	}
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ? AND source = 'waitlist'", s3, sec); n != 1 {
		t.Error("the waiting student did not get the seat")
	}
	if out, err := w.svc.StaffDrop(ctx, change(s1, sec)); err != nil || out.Result != registration.NotFound {
		t.Errorf("drop twice: %+v (%v)", out, err)
	}
	w.checkInvariants()
}

// TestResize: a capacity never falls below the seats taken, held seats included, and new
// seats go to the students waiting first.
func TestResize(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sec := w.section(w.course("CS101", 3), "01", 2, mon, hm(9, 0), hm(10, 0))
	students := w.students(5, 18)
	for _, s := range students[:2] {
		w.register(s, sec)
	}
	for _, s := range students[2:] {
		if out := w.join(s, sec); out.Result != registration.Waitlisted {
			t.Fatalf("join: %+v", out)
		}
	}
	resize := func(capacity int) (int, error) {
		var held int
		err := db.InTx(ctx, w.db, func(q *db.Queries) error {
			var err error
			held, err = registration.Resize(ctx, q, sec, capacity)
			return err
		})
		return held, err
	}

	var ce *registration.CapacityError
	if _, err := resize(1); !errors.As(err, &ce) || *ce != (registration.CapacityError{Enrolled: 2}) {
		t.Errorf("below the students registered: %v", err)
	}
	// Two new seats: both held for the three students waiting.
	if held, err := resize(4); err != nil || held != 2 {
		t.Fatalf("resize to 4: held %d (%v), want 2", held, err)
	}
	if _, err := resize(3); !errors.As(err, &ce) || *ce != (registration.CapacityError{Enrolled: 2, Held: 2}) {
		t.Errorf("below the seats taken and held: %v", err)
	}
	w.svc.PromoteNow(ctx, sec)
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE section_id = ? AND source = 'waitlist'", sec); n != 2 {
		t.Errorf("%d students promoted, want 2", n)
	}
	// One student still waits: of three new seats one is held, two are free for anyone.
	if held, err := resize(7); err != nil || held != 1 {
		t.Errorf("resize to 7: held %d (%v), want 1", held, err)
	}
	if held, err := resize(7); err != nil || held != 0 {
		t.Errorf("the same capacity again: held %d (%v), want 0", held, err)
	}
	w.checkInvariants()
}
