package waitingroom_test

import (
	"testing"
	"time"

	"github.com/schoolservice/school/waitingroom"
)

// TestStatusStates: Status says where a place stands as the waiting page shows it, from
// the replica's cache: a place the cache does not know, or has not seen ordered, is
// joining; then it waits in line, is admitted, and is lost once finished.
func TestStatusStates(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{})
	r := f.room()
	f.exec("UPDATE registration_windows SET paused = TRUE WHERE id = ?", w) // no tick admits anyone
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	u := f.students(1)[0]
	if st := r.Status(waitingroom.Place{Window: w, User: u, Ticket: 1}); st.Known || st.State != waitingroom.Joining {
		t.Fatalf("a place never taken: %+v, want unknown and joining", st)
	}
	p := f.join(r, w, u)
	if st := r.Status(p); !st.Known || st.State != waitingroom.Joining || st.Position != 0 {
		t.Fatalf("joined, not ordered yet: %+v, want known and joining", st)
	}
	f.tick(r, w)
	f.refresh(r)
	if st := r.Status(p); st.State != waitingroom.Waiting || st.Position != 1 || !st.Paused {
		t.Fatalf("ordered: %+v, want waiting first in line, paused", st)
	}
	if ok, err := r.LetThrough(f.ctx, staff, w, u, "student"); !ok || err != nil {
		t.Fatalf("LetThrough: %v, %v", ok, err)
	}
	f.clock.Advance(time.Second)
	f.refresh(r)
	if st := r.Status(p); st.State != waitingroom.Admitted || st.Position != 0 {
		t.Fatalf("let through: %+v, want admitted", st)
	}
	if err := r.Finish(f.ctx, w, u); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Second)
	f.refresh(r)
	if st := r.Status(p); st.State != waitingroom.Lost || st.State.String() != "lost" {
		t.Fatalf("finished: %+v, want lost", st)
	}
}

// pausedLine opens a window admitting 10 a second, paused so that no tick admits anyone,
// and puts n students in its line, ordered and in the room's cache.
func pausedLine(t *testing.T, n int) (*fixture, *waitingroom.Room, int64, []waitingroom.Place) {
	t.Helper()
	f := newFixture(t)
	w := f.window(windowSpec{rate: 10})
	r := f.room()
	f.exec("UPDATE registration_windows SET paused = TRUE WHERE id = ?", w)
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	var places []waitingroom.Place
	for _, u := range f.students(n) {
		places = append(places, f.join(r, w, u))
	}
	f.tick(r, w)
	f.refresh(r)
	return f, r, w, places
}

// TestStatusSoonest: a waiting place is not admitted before the places ahead of it have
// been, at the set rate, less the credit a stall banks (three seconds of admissions);
// Status says so, for the page to poll less often meanwhile.
func TestStatusSoonest(t *testing.T) {
	_, r, _, places := pausedLine(t, 101)
	for _, c := range []struct {
		index int
		want  time.Duration
	}{
		{0, 0},                 // next in line
		{30, 0},                // 30 ahead: 3 s at 10 a second, the credit's worth
		{40, time.Second},      // 40 ahead: 4 s, less 3
		{100, 7 * time.Second}, // 100 ahead: 10 s, less 3
	} {
		st := r.Status(places[c.index])
		if st.State != waitingroom.Waiting || st.Position != c.index+1 {
			t.Fatalf("place %d: %+v, want waiting at %d", c.index, st, c.index+1)
		}
		if st.Soonest != c.want {
			t.Errorf("place %d (position %d): soonest %v, want %v", c.index, st.Position, st.Soonest, c.want)
		}
	}
}

// TestSoonestIsNeverBeaten: with the window paused for a while (the credit it may bank is
// then at its most) and then admitting at its rate, tick after tick, no place is admitted
// before the Soonest its page was shown when the window resumed.
func TestSoonestIsNeverBeaten(t *testing.T) {
	f, r, w, places := pausedLine(t, 60)
	soonest := make([]time.Duration, len(places))
	for i, p := range places {
		soonest[i] = r.Status(p).Soonest
	}
	f.exec("UPDATE registration_windows SET paused = FALSE WHERE id = ?", w)
	f.clock.Advance(10 * time.Second) // a stall: the first tick may catch up its credit's worth
	f.refresh(r)
	start := f.clock.Now()
	admitted := 0
	for step := 0; step < 40 && admitted < len(places); step++ {
		f.tick(r, w)
		f.refresh(r)
		since := f.clock.Now().Sub(start)
		admitted = 0
		for i, p := range places {
			if r.Status(p).State != waitingroom.Admitted {
				continue
			}
			admitted++
			if since < soonest[i] {
				t.Errorf("place %d admitted %v after the window resumed; its page was told %v at the soonest", i+1, since, soonest[i])
			}
		}
		f.clock.Advance(250 * time.Millisecond)
	}
	if admitted != len(places) {
		t.Fatalf("%d of %d admitted after 10 s at 10 a second", admitted, len(places))
	}
}

// TestStatusMeasured: a waiting page's estimate is from the set rate until admissions
// have been measured, then from them, and Status says which (the page polls more often
// near a measured turn only).
func TestStatusMeasured(t *testing.T) {
	f, r, w, places := pausedLine(t, 100)
	last := places[len(places)-1]
	f.exec("UPDATE registration_windows SET paused = FALSE WHERE id = ?", w)
	f.refresh(r)
	if st := r.Status(last); st.Measured || st.Wait != 10*time.Second {
		t.Fatalf("before any admission: %+v, want an unmeasured wait of 10 s (100 at the set 10 a second)", st)
	}
	for range 12 { // 3 s at 10 a second
		f.tick(r, w)
		f.clock.Advance(250 * time.Millisecond)
		f.refresh(r)
	}
	st := r.Status(last)
	if !st.Measured || st.State != waitingroom.Waiting {
		t.Fatalf("after 3 s of admissions: %+v, want a measured wait", st)
	}
	// About 30 admitted in 3 s: the last place, 70th now, about 7 s away.
	if want := time.Duration(st.Position) * time.Second / 10; st.Wait < want/2 || st.Wait > 2*want {
		t.Errorf("measured wait %v at position %d, want about %v", st.Wait, st.Position, want)
	}
}
