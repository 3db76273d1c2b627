package registration_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/schoolservice/school/registration"
)

// registerBehindGate sends a registration that finds a seat at its read and then waits
// at the section's gate, held by the test; fill says whether the gate records a full
// answer while it waits. It returns the answer once the gate lets it on.
func (w *world) registerBehindGate(student, section int64, fill bool, meanwhile func()) registration.Outcome {
	w.t.Helper()
	release := w.svc.HoldGate(section)
	answer := make(chan registration.Outcome, 1)
	go func() {
		out, err := w.svc.Register(context.Background(), registration.Request{StudentID: student, SectionID: section, Key: "k"})
		if err != nil {
			w.t.Error(err)
		}
		answer <- out
	}()
	for !w.svc.GateWaiting(section, 1) {
		select {
		case out := <-answer:
			w.t.Fatalf("answered %q before the gate", out.Result)
		case <-time.After(time.Millisecond):
		}
	}
	meanwhile()
	if fill {
		w.svc.MarkGateFull(section) // another request answered full while this one waited
	}
	release()
	return <-answer
}

// A registration that waited at the gate while the section's last seat went is answered
// full from a new read, without a transaction: no lock taken, no key recorded.
func TestGateAnswersFullFromANewRead(t *testing.T) {
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 1, 1, 540, 600)
	first, second := w.student(), w.student()
	out := w.registerBehindGate(second, sec, true, func() {
		w.exec("UPDATE sections SET enrolled = 1 WHERE id = ?", sec)
		w.exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id) SELECT ?, id, course_id, term_id FROM sections WHERE id = ?", first, sec)
	})
	if out.Result != registration.Full {
		t.Fatalf("answer %q, want full", out.Result)
	}
	if n := w.count("SELECT COUNT(*) FROM registration_requests WHERE user_id = ?", second); n != 0 {
		t.Errorf("%d request records: the full answer came from a transaction", n)
	}
	w.checkInvariants()
}

// The gate's record of a full answer never answers full by itself: a seat free at the new
// read (here, the section was never filled) goes to the transaction and is taken.
func TestGateNeverAnswersFullWithASeatFree(t *testing.T) {
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 1, 1, 540, 600)
	st := w.student()
	out := w.registerBehindGate(st, sec, true, func() {})
	if out.Result != registration.Enrolled {
		t.Fatalf("answer %q, want enrolled", out.Result)
	}
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ?", st, sec); n != 1 {
		t.Errorf("%d enrollments, want 1", n)
	}
	w.checkInvariants()
}

// Many students at once for a section's one seat: one is enrolled, every other is told
// full, and after the first full answer those who waited are answered from a new read.
// Transactions run: the seat's, those let in before the first full answer was recorded
// (the gate's slots, and the slot the seat's transaction freed), none after.
func TestGateRunsFewTransactionsForTheLastSeat(t *testing.T) {
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 1, 1, 540, 600)
	const n = 16
	students := w.students(n, 18)
	release := w.svc.HoldGate(sec) // every request glances and finds the seat first
	var wg sync.WaitGroup
	results := make(chan registration.Result, n)
	for i, st := range students {
		wg.Go(func() {
			out, err := w.svc.Register(context.Background(), registration.Request{StudentID: st, SectionID: sec, Key: fmt.Sprint("k", i)})
			if err != nil {
				t.Error(err)
			}
			results <- out.Result
		})
	}
	for deadline := time.Now().Add(30 * time.Second); !w.svc.GateWaiting(sec, n); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("the %d requests never all waited at the gate", n)
		}
	}
	release()
	wg.Wait()
	close(results)
	counts := map[registration.Result]int{}
	for r := range results {
		counts[r]++
	}
	if counts[registration.Enrolled] != 1 || counts[registration.Full] != n-1 {
		t.Errorf("answers %v, want 1 enrolled and %d full", counts, n-1)
	}
	txs := w.count("SELECT COUNT(*) FROM registration_requests")
	if txs > registration.GateSlots+1 {
		t.Errorf("%d transactions for one seat, want at most %d", txs, registration.GateSlots+1)
	}
	// Every request found the seat at its first read: each either ran its transaction or
	// was answered at the gate, and the metric says how many were.
	if got := w.counter("school_registration_gate_answers_total"); got != float64(n-txs) {
		t.Errorf("school_registration_gate_answers_total %v, want %d", got, n-txs)
	}
	w.checkInvariants()
}

// counter is the value of the service's counter of that name (0 when it has no sample).
func (w *world) counter(name string) float64 {
	w.t.Helper()
	families, err := w.reg.Gather()
	if err != nil {
		w.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}
