package registration_test

import (
	"context"
	"sync"
	"testing"

	"github.com/schoolservice/school/registration"
)

// run calls f for 0..n-1 all at once and returns each call's outcome.
func run(t *testing.T, n int, f func(i int) (registration.Outcome, error)) []registration.Outcome {
	t.Helper()
	outs := make([]registration.Outcome, n)
	errs := make([]error, n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			outs[i], errs[i] = f(i)
		}()
	}
	start.Done()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return outs
}

func tally(outs []registration.Outcome) map[registration.Result]int {
	m := map[registration.Result]int{}
	for _, o := range outs {
		m[o.Result]++
	}
	return m
}

// 2,000 students at once on 20 sections of 30 seats: every seat is taken exactly once.
func TestNoOversellUnderConcurrency(t *testing.T) {
	w := newWorld(t)
	var sections []int64
	for i := range 20 {
		c := w.course("HOT"+string(rune('A'+i)), 3)
		sections = append(sections, w.section(c, "01", 30, 1+i%5, 9*60, 10*60))
	}
	students := w.students(2000, 18)
	outs := run(t, len(students), func(i int) (registration.Outcome, error) {
		return w.svc.Register(context.Background(), registration.Request{StudentID: students[i], SectionID: sections[i%20]})
	})
	got := tally(outs)
	if got[registration.Enrolled] != 600 || got[registration.Full] != 1400 || len(got) != 2 {
		t.Errorf("results %v, want 600 enrolled and 1400 full", got)
	}
	w.checkInvariants()
	if n := w.count("SELECT COUNT(*) FROM enrollments"); n != 600 {
		t.Errorf("%d enrollment rows, want 600", n)
	}
	if n := w.count("SELECT COUNT(*) FROM sections WHERE enrolled <> 30"); n != 0 {
		t.Errorf("%d sections not exactly full", n)
	}
}

// One student's two tabs: two sections at the same time, sent together. One wins.
func TestConcurrentTimeConflict(t *testing.T) {
	w := newWorld(t)
	a := w.section(w.course("CS101", 3), "01", 30, 1, 9*60, 10*60+15)
	b := w.section(w.course("MATH101", 3), "01", 30, 1, 10*60, 11*60)
	for range 10 {
		st := w.student()
		outs := run(t, 2, func(i int) (registration.Outcome, error) {
			return w.svc.Register(context.Background(), registration.Request{StudentID: st, SectionID: []int64{a, b}[i]})
		})
		got := tally(outs)
		if got[registration.Enrolled] != 1 || got[registration.TimeConflict] != 1 {
			t.Fatalf("results %v, want one enrolled and one time_conflict", got)
		}
		if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ?", st); n != 1 {
			t.Fatalf("%d enrollments, want 1", n)
		}
	}
	w.checkInvariants()
}

// Two requests that each fit the credit limit but not together: exactly one is taken.
func TestConcurrentCreditLimit(t *testing.T) {
	w := newWorld(t)
	a := w.section(w.course("CS201", 4), "01", 30, 1, 9*60, 10*60)
	b := w.section(w.course("CS202", 4), "01", 30, 2, 9*60, 10*60)
	for _, st := range w.students(10, 6) {
		outs := run(t, 2, func(i int) (registration.Outcome, error) {
			return w.svc.Register(context.Background(), registration.Request{StudentID: st, SectionID: []int64{a, b}[i]})
		})
		got := tally(outs)
		if got[registration.Enrolled] != 1 || got[registration.CreditLimit] != 1 {
			t.Fatalf("results %v, want one enrolled and one credit_limit", got)
		}
	}
	w.checkInvariants()
}

// A double click, ten times over: one enrollment, and every answer says enrolled.
func TestConcurrentSameRequest(t *testing.T) {
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 30, 1, 9*60, 10*60)
	for _, key := range []string{"", "click-1"} {
		st := w.student()
		outs := run(t, 10, func(int) (registration.Outcome, error) {
			return w.svc.Register(context.Background(), registration.Request{StudentID: st, SectionID: sec, Key: key})
		})
		if got := tally(outs); got[registration.Enrolled] != 10 {
			t.Errorf("key %q: results %v, want 10 × enrolled", key, got)
		}
		if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ?", st); n != 1 {
			t.Errorf("key %q: %d enrollments, want 1", key, n)
		}
	}
	w.checkInvariants()
}

// A drop with a waitlist: the seat goes to the first waiting student who still passes
// every rule, never to a walk-in who asks at the same moment.
func TestDropGoesToWaitlistNotWalkIn(t *testing.T) {
	w := newWorld(t)
	course := w.course("CS300", 3)
	sec := w.section(course, "01", 1, 3, 9*60, 10*60)
	clash := w.section(w.course("CS301", 3), "01", 30, 3, 9*60, 10*60)
	holder, skipped, next, last := w.student(), w.student(), w.student(), w.student()
	walkIns := w.students(20, 18)

	if out := w.register(holder, sec); out.Result != registration.Enrolled {
		t.Fatalf("holder: %s", out.Result)
	}
	for i, st := range []int64{skipped, next, last} {
		out, err := w.svc.JoinWaitlist(context.Background(), registration.Request{StudentID: st, SectionID: sec})
		if err != nil || out.Result != registration.Waitlisted || out.Position != i+1 {
			t.Fatalf("waitlist %d: %+v %v", i, out, err)
		}
	}
	// The first in line takes a section at the same time meanwhile: skipped at promotion.
	if out := w.register(skipped, clash); out.Result != registration.Enrolled {
		t.Fatalf("clash: %s", out.Result)
	}

	outs := run(t, 1+len(walkIns), func(i int) (registration.Outcome, error) {
		if i == 0 {
			return w.svc.Drop(context.Background(), registration.Request{StudentID: holder, SectionID: sec})
		}
		return w.svc.Register(context.Background(), registration.Request{StudentID: walkIns[i-1], SectionID: sec})
	})
	if outs[0].Result != registration.Dropped {
		t.Fatalf("drop: %s", outs[0].Result)
	}
	for i, o := range outs[1:] {
		if o.Result != registration.Full {
			t.Errorf("walk-in %d got %s, want full", i, o.Result)
		}
	}
	var owner int64
	if err := w.db.QueryRow("SELECT user_id FROM enrollments WHERE section_id = ?", sec).Scan(&owner); err != nil || owner != next {
		t.Errorf("seat went to %d (%v), want the second in line %d", owner, err, next)
	}
	var status, reason string
	if err := w.db.QueryRow("SELECT status, reason FROM waitlist_entries WHERE user_id = ? AND section_id = ?", skipped, sec).Scan(&status, &reason); err != nil ||
		status != "skipped" || reason != "time_conflict" {
		t.Errorf("first in line: %s %q (%v), want skipped for time_conflict", status, reason, err)
	}
	if n := w.count("SELECT held FROM sections WHERE id = ?", sec); n != 0 {
		t.Errorf("%d seats still held", n)
	}
	// The last one moved up.
	out, err := w.svc.JoinWaitlist(context.Background(), registration.Request{StudentID: last, SectionID: sec})
	if err != nil || out.Position != 1 {
		t.Errorf("last in line now at %d (%v), want 1", out.Position, err)
	}
	w.checkInvariants()
}
