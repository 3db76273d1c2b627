package registration_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/schoolservice/school/registration"
)

// holdRow locks a row with lock (a SELECT … FOR UPDATE of id) in a transaction of its
// own, as another request would, and returns it: what the test writes in it commits with
// the lock's release. The test's end rolls it back if nothing else ended it.
func (w *world) holdRow(lock string, id int64) *sql.Tx {
	w.t.Helper()
	tx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { tx.Rollback() })
	if _, err := tx.Exec(lock, id); err != nil {
		w.t.Fatal(err)
	}
	return tx
}

func txExec(t *testing.T, tx *sql.Tx, query string, args ...any) {
	t.Helper()
	if _, err := tx.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

// waitingFor waits until n statements of this world's database whose text holds name
// (the query's sqlc name) wait for a lock.
func (w *world) waitingFor(name string, n int) {
	w.t.Helper()
	for range 2000 {
		if w.count(`SELECT COUNT(*) FROM information_schema.PROCESSLIST
			WHERE DB = DATABASE() AND INFO LIKE CONCAT('%', ?, '%') AND STATE <> ''`, name) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.t.Fatalf("never %d %s waiting for a lock", n, name)
}

// A registration for a section with room, and any waitlist join, skips the glance, and
// its lock's statement reads the student's record and the catalog version after the lock
// is granted: it sees what the request holding the lock committed (the glance it skipped
// would have been read before that commit).
func TestFirstReadAfterTheLock(t *testing.T) {
	w := newWorld(t)
	course := w.course("CS300", 3)
	a, b := w.section(course, "1", 30, 1, 540, 600), w.section(course, "2", 30, 2, 540, 600)
	other := w.section(w.course("CS301", 3), "1", 30, 3, 540, 600)
	full := w.section(w.course("CS302", 3), "1", 1, 4, 540, 600)
	for _, sec := range []int64{b, other, full} {
		expect(t, "a first registration", w.register(w.student(), sec), registration.Enrolled)
	}
	if got := series(t, w.reg, "school_registration_first_reads_total"); got["register/glance"] != 3 || got["register/lock"] != 0 {
		t.Fatalf("first reads %v, want 3 glances: a section not seen yet is glanced at", got)
	}

	type answer struct {
		out registration.Outcome
		err error
	}
	behind := func(act func(context.Context, registration.Request) (registration.Outcome, error),
		student, section int64, key string, meanwhile func(*sql.Tx)) registration.Outcome {
		t.Helper()
		tx := w.holdRow("SELECT id FROM users WHERE id = ? FOR UPDATE", student)
		meanwhile(tx)
		done := make(chan answer, 1)
		go func() {
			out, err := act(context.Background(), registration.Request{StudentID: student, SectionID: section, Key: key})
			done <- answer{out, err}
		}()
		w.waitingFor("LockStudentRecord", 1)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		got := <-done
		if got.err != nil {
			t.Fatal(got.err)
		}
		return got.out
	}
	takeA := func(st int64) func(*sql.Tx) {
		return func(tx *sql.Tx) {
			txExec(t, tx, "UPDATE sections SET enrolled = enrolled + 1 WHERE id = ?", a)
			txExec(t, tx, "INSERT INTO enrollments (user_id, section_id, course_id, term_id) SELECT ?, id, course_id, term_id FROM sections WHERE id = ?", st, a)
		}
	}

	// The student's other request took a seat in the course's other section.
	st := w.student()
	out := behind(w.svc.Register, st, b, "k1", takeA(st))
	expect(t, "registering behind a seat taken in the same course", out, registration.Duplicate)
	st = w.student()
	out = behind(w.svc.JoinWaitlist, st, b, "k1", takeA(st))
	expect(t, "joining a waitlist behind a seat taken in the same course", out, registration.Duplicate)

	// A waitlist join reads the lock's statement first; twice with one key (a double
	// click), it joins once and the second answer is the first's.
	st = w.student()
	for i, want := range []bool{false, true} {
		out, err := w.svc.JoinWaitlist(context.Background(), registration.Request{StudentID: st, SectionID: full, Key: "k2"})
		if err != nil {
			t.Fatal(err)
		}
		expect(t, "joining the waitlist of a full section", out, registration.Waitlisted)
		// A replayed answer tells where the student stands as it was read.
		pos := out.Position
		if out.Replayed {
			pos = out.Found.Position
		}
		if out.Replayed != want || pos != 1 {
			t.Errorf("join %d: replayed %v at position %d, want replayed %v at 1", i+1, out.Replayed, pos, want)
		}
	}
	if n := w.count("SELECT COUNT(*) FROM waitlist_entries WHERE user_id = ?", st); n != 1 {
		t.Errorf("%d waitlist entries after a double click, want 1", n)
	}

	// Staff closed the window meanwhile, bumping the catalog's version as they do.
	closeWindow := func(tx *sql.Tx) {
		txExec(t, tx, "UPDATE registration_windows SET closes_at = ? WHERE term_id = ?", now.Add(-time.Minute), w.term)
		txExec(t, tx, "UPDATE catalog_version SET version = version + 1 WHERE id = 1")
	}
	out = behind(w.svc.Register, w.student(), other, "k3", closeWindow)
	expect(t, "registering behind the window's closing", out, registration.WindowClosed)
	w.exec("UPDATE registration_windows SET closes_at = ? WHERE term_id = ?", now.Add(time.Hour), w.term)
	w.exec("UPDATE catalog_version SET version = version + 1 WHERE id = 1")
	out = behind(w.svc.JoinWaitlist, w.student(), full, "k3", closeWindow)
	expect(t, "joining a waitlist behind the window's closing", out, registration.WindowClosed)

	got := series(t, w.reg, "school_registration_first_reads_total")
	want := map[string]float64{"register/glance": 3, "register/lock": 2, "register/lock_then_glance": 1,
		"waitlist/lock": 4, "waitlist/lock_then_glance": 1}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("first reads %v, want %v: the registrations and joins by the lock, those behind the closing then by the glance", got, want)
			break
		}
	}
	w.checkInvariants()
}

// A registration that skipped the glance and is refused under the lock answers with the
// section as its lock's statement read it: the capacity, and the seats left, those held
// for the waitlist counted as taken (the statement packs the capacity and the seats taken
// in one number).
func TestLockReadAnswersTheSeats(t *testing.T) {
	w := newWorld(t)
	sec := w.section(w.course("CS310", 3), "1", 30, 1, 540, 600)
	clash := w.section(w.course("CS311", 3), "1", 30, 1, 540, 600)
	expect(t, "a first registration", w.register(w.student(), sec), registration.Enrolled)
	w.exec("UPDATE sections SET held = 2 WHERE id = ?", sec)
	st := w.student()
	expect(t, "a section meeting at the same time", w.register(st, clash), registration.Enrolled)
	out, err := w.svc.Register(context.Background(), registration.Request{StudentID: st, SectionID: sec, Key: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, "a registration that skips the glance", out, registration.TimeConflict)
	if got := series(t, w.reg, "school_registration_first_reads_total"); got["register/lock"] != 1 {
		t.Fatalf("first reads %v, want the last registration's from its lock", got)
	}
	if out.Section.Capacity != 30 || out.SeatsLeft != 27 {
		t.Errorf("answered capacity %d with %d seats left, want 30 with 27 (1 enrolled, 2 held)", out.Section.Capacity, out.SeatsLeft)
	}
}
