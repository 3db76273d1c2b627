package registration

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
)

// waitForWaiters blocks until n requests wait on the flight of k.
func waitForWaiters(t *testing.T, f *flights, k flightKey, n int) {
	t.Helper()
	for range 5000 {
		f.mu.Lock()
		c := f.calls[k]
		got := c != nil && c.waiters >= n
		f.mu.Unlock()
		if got {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never %d waiting", n)
}

func TestFlightsShareOneAnswer(t *testing.T) {
	var f flights
	k := flightKey{student: 1, key: "k", kind: db.RegistrationRequestsActionRegister, section: 7}
	var calls atomic.Int32
	release := make(chan struct{})
	fn := func() (Outcome, error) {
		calls.Add(1)
		<-release
		return Outcome{Result: Enrolled, SeatsLeft: 3}, nil
	}
	answers := make(chan Outcome, 3)
	entered := make(chan struct{}, 3)
	inner := fn
	fn = func() (Outcome, error) { entered <- struct{}{}; return inner() }
	go func() {
		out, err := f.do(context.Background(), k, fn)
		if err != nil {
			t.Error(err)
		}
		answers <- out
	}()
	<-entered
	for range 2 {
		go func() {
			out, err := f.do(context.Background(), k, fn)
			if err != nil {
				t.Error(err)
			}
			answers <- out
		}()
	}
	waitForWaiters(t, &f, k, 2)
	close(release)
	for range 3 {
		if out := <-answers; out.Result != Enrolled || out.SeatsLeft != 3 {
			t.Errorf("answer %+v, want the first's", out)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("answered %d times, want once", n)
	}
	// Another action, section or student with the same key is another request.
	other := k
	other.section = 8
	if _, err := f.do(context.Background(), other, func() (Outcome, error) { calls.Add(1); return Outcome{}, nil }); err != nil || calls.Load() != 2 {
		t.Errorf("another section's request was not answered on its own (calls %d, %v)", calls.Load(), err)
	}
}

func TestFlightsWaiterThatGivesUp(t *testing.T) {
	var f flights
	k := flightKey{student: 1, key: "k", kind: db.RegistrationRequestsActionRegister, section: 7}
	release, entered := make(chan struct{}), make(chan struct{})
	first := make(chan Outcome)
	go func() {
		out, _ := f.do(context.Background(), k, func() (Outcome, error) { close(entered); <-release; return Outcome{Result: Full}, nil })
		first <- out
	}()
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() {
		_, err := f.do(ctx, k, func() (Outcome, error) { t.Error("the waiter answered itself"); return Outcome{}, nil })
		gaveUp <- err
	}()
	waitForWaiters(t, &f, k, 1)
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter that gave up: %v, want context.Canceled", err)
	}
	close(release)
	if out := <-first; out.Result != Full {
		t.Errorf("the first request's answer %q, want full", out.Result)
	}
}

// When the first request's client gives up, its answer is an error of its own context:
// a waiting request whose client is still there answers itself instead.
func TestFlightsFirstAbandoned(t *testing.T) {
	var f flights
	k := flightKey{student: 1, key: "k", kind: db.RegistrationRequestsActionRegister, section: 7}
	ctx, cancel := context.WithCancel(context.Background())
	release, entered := make(chan struct{}), make(chan struct{})
	go func() {
		_, _ = f.do(ctx, k, func() (Outcome, error) { close(entered); <-release; return Outcome{}, ctx.Err() })
	}()
	<-entered
	second := make(chan Outcome)
	go func() {
		out, err := f.do(context.Background(), k, func() (Outcome, error) { return Outcome{Result: Enrolled}, nil })
		if err != nil {
			t.Error(err)
		}
		second <- out
	}()
	waitForWaiters(t, &f, k, 1)
	cancel()
	close(release)
	if out := <-second; out.Result != Enrolled {
		t.Errorf("the waiter got %q, want its own answer (enrolled)", out.Result)
	}
}

// A request that panics (a handler's recoverer answers its client) still ends its flight:
// the request waiting on it gets an error, and the key's next request is answered.
func TestFlightsFirstPanics(t *testing.T) {
	var f flights
	k := flightKey{student: 1, key: "k", kind: db.RegistrationRequestsActionRegister, section: 7}
	release, entered := make(chan struct{}), make(chan struct{})
	go func() {
		defer func() { _ = recover() }()
		_, _ = f.do(context.Background(), k, func() (Outcome, error) { close(entered); <-release; panic("boom") })
	}()
	<-entered
	waiter := make(chan error)
	go func() {
		_, err := f.do(context.Background(), k, func() (Outcome, error) { return Outcome{}, nil })
		waiter <- err
	}()
	waitForWaiters(t, &f, k, 1)
	close(release)
	if err := <-waiter; !errors.Is(err, errFlightLost) {
		t.Errorf("the waiter got %v, want errFlightLost", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := f.do(ctx, k, func() (Outcome, error) { return Outcome{Result: Enrolled}, nil })
	if err != nil || out.Result != Enrolled {
		t.Errorf("the key's next request: %q, %v; want its own answer", out.Result, err)
	}
}
