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

// A registration for a section with room skips the glance, and its lock's statement reads
// the student's record and the catalog version after the lock is granted: it sees what
// the request holding the lock committed (the glance it skipped would have been read
// before that commit).
func TestFirstReadAfterTheLock(t *testing.T) {
	w := newWorld(t)
	course := w.course("CS300", 3)
	a, b := w.section(course, "1", 30, 1, 540, 600), w.section(course, "2", 30, 2, 540, 600)
	other := w.section(w.course("CS301", 3), "1", 30, 3, 540, 600)
	for _, sec := range []int64{b, other} {
		expect(t, "a first registration", w.register(w.student(), sec), registration.Enrolled)
	}
	if got := series(t, w.reg, "school_registration_first_reads_total"); got["glance"] != 2 || got["lock"] != 0 {
		t.Fatalf("first reads %v, want 2 glances: a section not seen yet is glanced at", got)
	}

	type answer struct {
		out registration.Outcome
		err error
	}
	behind := func(student, section int64, key string, meanwhile func(*sql.Tx)) registration.Outcome {
		t.Helper()
		tx := w.holdRow("SELECT id FROM users WHERE id = ? FOR UPDATE", student)
		meanwhile(tx)
		done := make(chan answer, 1)
		go func() {
			out, err := w.svc.Register(context.Background(), registration.Request{StudentID: student, SectionID: section, Key: key})
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

	// The student's other request took a seat in the course's other section.
	st := w.student()
	out := behind(st, b, "k1", func(tx *sql.Tx) {
		txExec(t, tx, "UPDATE sections SET enrolled = enrolled + 1 WHERE id = ?", a)
		txExec(t, tx, "INSERT INTO enrollments (user_id, section_id, course_id, term_id) SELECT ?, id, course_id, term_id FROM sections WHERE id = ?", st, a)
	})
	expect(t, "registering behind a seat taken in the same course", out, registration.Duplicate)

	// Staff closed the window meanwhile, bumping the catalog's version as they do.
	out = behind(w.student(), other, "k2", func(tx *sql.Tx) {
		txExec(t, tx, "UPDATE registration_windows SET closes_at = ? WHERE term_id = ?", now.Add(-time.Minute), w.term)
		txExec(t, tx, "UPDATE catalog_version SET version = version + 1 WHERE id = 1")
	})
	expect(t, "registering behind the window's closing", out, registration.WindowClosed)

	got := series(t, w.reg, "school_registration_first_reads_total")
	if got["lock"] != 2 || got["lock_then_glance"] != 1 {
		t.Errorf("first reads %v, want both registrations by the lock, the second then by the glance", got)
	}
	w.checkInvariants()
}
