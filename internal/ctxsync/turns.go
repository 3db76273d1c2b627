package ctxsync

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Turns lets at most n holders in at once, and the others in the order they came: a
// semaphore that is first come, first served, whose waiters can give up. (A freed
// connection of database/sql's pool goes to a waiter chosen at random: in a burst the
// unlucky few wait many times as long as the rest.)
type Turns struct {
	mu      sync.Mutex
	free    int
	waiting []waiter // first come first
	waits   int64    // takes that had to wait, since the start
}

// waiter is a Take waiting for its turn: given, its channel is closed.
type waiter struct {
	turn  chan struct{}
	since time.Time
}

// NewTurns returns Turns for n holders at once; n must be at least 1.
func NewTurns(n int) *Turns {
	if n < 1 {
		panic("ctxsync: turns for fewer than one holder")
	}
	return &Turns{free: n}
}

// Take waits for a turn, or returns ctx's error when ctx ends first: then it took none.
func (t *Turns) Take(ctx context.Context) error {
	t.mu.Lock()
	if t.free > 0 {
		t.free--
		t.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	t.waiting = append(t.waiting, waiter{ch, time.Now()})
	t.waits++
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		t.mu.Lock()
		if i := slices.IndexFunc(t.waiting, func(w waiter) bool { return w.turn == ch }); i >= 0 {
			t.waiting = slices.Delete(t.waiting, i, i+1)
			t.mu.Unlock()
			return ctx.Err()
		}
		t.mu.Unlock()
		t.Give() // given a turn as it left: the next one has it
		return ctx.Err()
	}
}

// TryTake takes a turn if one is free, and reports whether it did; it never waits.
func (t *Turns) TryTake() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.free == 0 {
		return false
	}
	t.free--
	return true
}

// Give ends a turn taken by Take or TryTake: the first waiting has it.
func (t *Turns) Give() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiting) == 0 {
		t.free++
		return
	}
	close(t.waiting[0].turn)
	// Off the front without moving the rest: a rush gives a turn thousands of times a
	// second to a line of hundreds. append reallocates as the line moves along.
	t.waiting[0] = waiter{}
	t.waiting = t.waiting[1:]
}

// Queue reports how many wait now, and how many have had to wait since the start.
func (t *Turns) Queue() (waiting int, waits int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.waiting), t.waits
}

// Delay is how long the first in line has waited at now; 0 when nobody waits. First come,
// first served, it is the time a request waits for a turn now.
func (t *Turns) Delay(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiting) == 0 {
		return 0
	}
	return max(0, now.Sub(t.waiting[0].since))
}
