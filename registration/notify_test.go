package registration_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/schoolservice/school/registration"
)

// notices lists the student's notifications, oldest first, as "kind section".
func (w *world) notices(student int64) []string {
	w.t.Helper()
	rows, err := w.db.Query("SELECT kind, args FROM notifications WHERE user_id = ? ORDER BY id", student)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var kind string
		var args json.RawMessage
		if err := rows.Scan(&kind, &args); err != nil {
			w.t.Fatal(err)
		}
		var a struct{ Section, Course string }
		if err := json.Unmarshal(args, &a); err != nil {
			w.t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s %s", kind, a.Section, a.Course))
	}
	return out
}

// Each event that happens to a student writes their notification in its own transaction:
// a promotion, a staff enrolment, a staff drop; one that rolls back writes none.
func TestEventsNotifyTheStudent(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	sec := w.section(w.course("CS300", 3), "01", 1, mon, hm(9, 0), hm(10, 0))
	a, b := w.student(), w.student()
	expect(t, "a registers", w.register(a, sec), registration.Enrolled)
	expect(t, "b waits", w.join(b, sec), registration.Waitlisted)
	if got := slices.Concat(w.notices(a), w.notices(b)); len(got) != 0 {
		t.Errorf("a student's own requests notified: %q", got)
	}

	// The promotion fails after its notification was written: both roll back.
	w.exec(`CREATE TRIGGER promotion_fails BEFORE UPDATE ON waitlist_entries FOR EACH ROW
		IF NEW.status = 'enrolled' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'; END IF`)
	expect(t, "a drops", w.drop(a, sec), registration.Dropped)
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ?", b); n != 0 || len(w.notices(b)) != 0 {
		t.Fatalf("promotion rolled back, yet b has %d enrollments and notifications %q", n, w.notices(b))
	}
	w.exec("DROP TRIGGER promotion_fails")
	if err := w.svc.Promote(ctx, sec); err != nil {
		t.Fatal(err)
	}
	if got, want := w.notices(b), []string{"promoted CS300-01 Course CS300"}; !slices.Equal(got, want) {
		t.Errorf("b after promotion: %q, want %q", got, want)
	}
	if got := w.notices(a); len(got) != 0 {
		t.Errorf("a, who dropped, was notified: %q", got)
	}

	change := func(student int64) registration.StaffChange {
		return registration.StaffChange{By: staffMember, StudentID: student, Student: "s", SectionID: sec, Reason: "test"}
	}
	// A staff change whose audit row fails rolls back, its notification with it.
	failAudit := func() func() {
		w.exec("CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'")
		return func() { w.exec("DROP TRIGGER audit_fails") }
	}
	lift := failAudit()
	if _, err := w.svc.StaffDrop(ctx, change(b)); err == nil {
		t.Fatal("staff drop went through although its audit row failed")
	}
	lift()
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ?", b); n != 1 {
		t.Fatalf("b lost the seat in a drop that rolled back")
	}
	if out, err := w.svc.StaffDrop(ctx, change(b)); err != nil || out.Result != registration.Dropped {
		t.Fatalf("staff drop: %+v (%v)", out, err)
	}
	lift = failAudit()
	if _, _, err := w.svc.StaffEnroll(ctx, change(a)); err == nil {
		t.Fatal("staff enrolment went through although its audit row failed")
	}
	lift()
	if out, _, err := w.svc.StaffEnroll(ctx, change(a)); err != nil || out.Result != registration.Enrolled {
		t.Fatalf("staff enroll: %+v (%v)", out, err)
	}
	// Nothing to drop: nothing to tell.
	if out, err := w.svc.StaffDrop(ctx, change(b)); err != nil || out.Result == registration.Dropped {
		t.Fatalf("staff drop of a student not registered: %+v (%v)", out, err)
	}

	if got, want := w.notices(a), []string{"staff_enrolled CS300-01 Course CS300"}; !slices.Equal(got, want) {
		t.Errorf("a: %q, want %q", got, want)
	}
	if got, want := w.notices(b), []string{"promoted CS300-01 Course CS300", "staff_dropped CS300-01 Course CS300"}; !slices.Equal(got, want) {
		t.Errorf("b: %q, want %q", got, want)
	}
}
