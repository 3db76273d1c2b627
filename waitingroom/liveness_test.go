package waitingroom_test

import (
	"testing"
	"time"

	"github.com/schoolservice/school/waitingroom"
)

// waitingOne is one student waiting in an open window with a 60 s grace, admitted at
// most once in a thousand seconds, their join written back.
func waitingOne(t *testing.T) (*fixture, *waitingroom.Room, int64, waitingroom.Place) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 0.001, grace: 60})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	p := f.queue(r, w, 1)[0]
	f.flush(r)
	return f, r, w, p
}

// TestWriteBackEveryQuarterGrace: a place that keeps polling is written back every
// quarter of the grace period, not at every write-back, and never expires for it.
func TestWriteBackEveryQuarterGrace(t *testing.T) {
	f, r, w, p := waitingOne(t)
	first := f.ticket(w, p.User).lastSeen
	writes := 0
	last := first
	for range 40 { // 200 s, a poll and a write-back every 5 s
		f.clock.Advance(5 * time.Second)
		f.poll(r, p)
		f.tick(r, w)
		x := f.ticket(w, p.User)
		if x.state != "waiting" {
			t.Fatalf("the polling place is %s after %v", x.state, f.clock.Now().Sub(first))
		}
		if !x.lastSeen.Equal(last) {
			writes++
			if d := x.lastSeen.Sub(last); d < 15*time.Second {
				t.Errorf("written back %v after the last write, want at least 15 s (a quarter of the grace)", d)
			}
			last = x.lastSeen
		}
	}
	if writes < 10 || writes > 14 {
		t.Errorf("%d write-backs in 200 s, want about 200/20 (every 15 s, on the 5 s write-backs)", writes)
	}
}

// TestClosedPageKeepsItsPlaceForTheGrace: a page closed after polls that were not written
// back (they came within a quarter grace of the last write) keeps its place for the whole
// grace after its last poll, and loses it soon after.
func TestClosedPageKeepsItsPlaceForTheGrace(t *testing.T) {
	f, r, w, p := waitingOne(t)
	written := f.ticket(w, p.User).lastSeen
	for range 2 { // polls 5 and 10 s later, not written back
		f.clock.Advance(5 * time.Second)
		f.poll(r, p)
	}
	last := f.clock.Now()
	if x := f.ticket(w, p.User); !x.lastSeen.Equal(written) {
		t.Fatalf("last_seen_at moved from %v to %v: the test needs polls not written back", written, x.lastSeen)
	}
	// The page is closed: no more polls.
	for {
		now := f.clock.Advance(time.Second)
		f.tick(r, w)
		state := f.ticket(w, p.User).state
		switch gone := now.Sub(last); {
		case gone <= 60*time.Second && state != "waiting":
			t.Fatalf("%v after the page's last poll its place is %s, want still waiting (grace 60 s)", gone, state)
		case gone > 60*time.Second && state == "expired":
			if gone > 81*time.Second {
				t.Errorf("given up %v after the last poll, want within grace + a quarter + a write-back", gone)
			}
			return
		case gone > 90*time.Second:
			t.Fatalf("%v after the last poll the place is still %s", gone, state)
		}
	}
}
