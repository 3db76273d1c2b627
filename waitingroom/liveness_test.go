package waitingroom_test

import (
	"testing"
	"time"
)

// TestWriteBackEveryQuarterGrace: a place that keeps polling is written back every
// quarter of the grace period, not at every write-back, and never expires for it.
func TestWriteBackEveryQuarterGrace(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 0.001, grace: 60})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	p := f.queue(r, w, 1)[0]
	f.flush(r)
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
