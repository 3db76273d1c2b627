package ctxsync

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// waitQueued waits until n requests wait for a turn.
func waitQueued(t *testing.T, tr *Turns, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if k, _ := tr.Queue(); k == n {
			return
		}
		if time.Now().After(deadline) {
			k, _ := tr.Queue()
			t.Fatalf("%d waiting, want %d", k, n)
		}
	}
}

// TestTurnsFirstComeFirstServed: with every turn taken, requests get theirs in the
// order they came; one that leaves while waiting takes none, and no turn is lost.
func TestTurnsFirstComeFirstServed(t *testing.T) {
	t.Parallel()
	tr := NewTurns(2)
	ctx := context.Background()
	for range 2 {
		if err := tr.Take(ctx); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20
	var mu sync.Mutex
	var served []int
	var wg sync.WaitGroup
	leaving, leave := context.WithCancel(ctx)
	for i := range n {
		c := ctx
		if i == 7 {
			c = leaving
		}
		wg.Go(func() {
			err := tr.Take(c)
			if i == 7 {
				if !errors.Is(err, context.Canceled) {
					t.Errorf("request 7 left, yet take said %v", err)
				}
				return
			}
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			mu.Lock()
			served = append(served, i)
			mu.Unlock()
			tr.Give()
		})
		waitQueued(t, tr, i+1) // the next comes after this one is in the queue
	}
	leave()
	waitQueued(t, tr, n-1)
	if _, ever := tr.Queue(); ever != n {
		t.Errorf("%d waits counted, want %d", ever, n)
	}
	tr.Give() // one of the two turns held: the rest go one at a time, each given back
	wg.Wait()
	var want []int
	for i := range n {
		if i != 7 {
			want = append(want, i)
		}
	}
	if !slices.Equal(served, want) {
		t.Errorf("served in the order %v, want %v", served, want)
	}
	tr.Give()
	if tr.free != 2 || len(tr.waiting) != 0 {
		t.Errorf("after every turn given back: %d free, %d waiting; want 2 and 0", tr.free, len(tr.waiting))
	}
}

// TestTurnsLeftAsGiven: a request whose turn comes as its client leaves passes the turn
// on to the next.
func TestTurnsLeftAsGiven(t *testing.T) {
	t.Parallel()
	// The turn given and the client gone at once: take's select sees both, and picks
	// either; many rounds see both ways.
	for range 50 {
		tr := NewTurns(1)
		if err := tr.Take(context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- tr.Take(ctx) }()
		waitQueued(t, tr, 1)
		cancel()
		tr.Give() // under way while take looks at its context
		err := <-done
		if err == nil {
			tr.Give() // it took the turn: fine too, as long as it gives it back
		}
		if tr.free != 1 || len(tr.waiting) != 0 {
			t.Fatalf("%d turns free and %d waiting after the only one came back, want 1 and 0 (take said %v)", tr.free, len(tr.waiting), err)
		}
	}
}

// TestTurnsDelay: the delay is how long the first in line has waited, and none without
// a line.
func TestTurnsDelay(t *testing.T) {
	t.Parallel()
	tr := NewTurns(1)
	if d := tr.Delay(time.Now()); d != 0 {
		t.Errorf("nobody waiting: delay %v", d)
	}
	if err := tr.Take(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	before := time.Now()
	go func() { done <- tr.Take(ctx) }()
	waitQueued(t, tr, 1)
	go func() { done <- tr.Take(ctx) }()
	waitQueued(t, tr, 2)
	after := time.Now()
	later := after.Add(time.Minute)
	if d := tr.Delay(later); d < later.Sub(after) || d > later.Sub(before) {
		t.Errorf("delay a minute on: %v, want between %v and %v", d, later.Sub(after), later.Sub(before))
	}
	cancel()
	<-done
	<-done
	if d := tr.Delay(later); d != 0 {
		t.Errorf("both gone: delay %v", d)
	}
}

// TestTurnsTryTake: a turn is taken only while one is free, and TryTake never waits.
func TestTurnsTryTake(t *testing.T) {
	t.Parallel()
	tr := NewTurns(2)
	for i := range 2 {
		if !tr.TryTake() {
			t.Fatalf("turn %d of 2 free, not taken", i+1)
		}
	}
	if tr.TryTake() {
		t.Fatal("a third turn taken of two")
	}
	tr.Give()
	if !tr.TryTake() {
		t.Fatal("a turn given back, not taken again")
	}
	if _, waits := tr.Queue(); waits != 0 {
		t.Errorf("%d waits counted; TryTake never waits", waits)
	}
}
