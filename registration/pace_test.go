package registration

import (
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db/dbtest"
)

// TestPacer: an opening starts with a small active limit, which grows while
// registrations are fast and the students fill it, holds while busy or while they do
// not fill it, falls while strained and the students active are within it (never below
// its floor nor above the staff's limit), and starts small again at the next opening.
func TestPacer(t *testing.T) {
	var p pacer
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	step := func(seconds float64, ceiling int64, activeShare float64, l load) int64 {
		var n int64
		for range int(seconds * 4) {
			now = now.Add(250 * time.Millisecond)
			n = p.next(now, ceiling, int64(activeShare*p.limit), l)
		}
		return n
	}
	if n := p.next(now, 20000, 0, light); n != startActive {
		t.Fatalf("opening limit %d, want %v", n, startActive)
	}
	if n := p.next(now, 30, 0, light); n != 30 {
		t.Errorf("limit %d above a staff limit of 30", n)
	}
	if n := step(10, 20000, 0.5, light); n != 30 {
		t.Errorf("fast but half full for 10 s: limit %d, want it held at 30", n)
	}
	want := 30 * math.Pow(growth, 10)
	if n := step(10, 20000, 1, light); math.Abs(float64(n)-want) > 2 {
		t.Errorf("fast and full for 10 s: %d, want %.0f", n, want)
	}
	held := p.limit
	if step(5, 20000, 1, busy); p.limit != held {
		t.Errorf("busy for 5 s moved the limit from %.1f to %.1f", held, p.limit)
	}
	if n := step(3, 20000, 1, strained); math.Abs(float64(n)-held*math.Pow(shrink, 3)) > 2 {
		t.Errorf("strained for 3 s: %d, want %.0f", n, held*math.Pow(shrink, 3))
	}
	// More students active than the limit: nobody is admitted and the load falls as
	// they finish; the limit waits for that instead of shrinking on.
	shrunk := p.limit
	if step(10, 20000, 1.5, strained); p.limit != shrunk {
		t.Errorf("strained for 10 s with more active than the limit: %.1f, want it held at %.1f", p.limit, shrunk)
	}
	if n := step(60, 20000, 1, strained); n != minActive {
		t.Errorf("strained for a minute: %d, want the floor %v", n, minActive)
	}
	if n := step(60, 20000, 1, light); n != 20000 {
		t.Errorf("fast and full for a minute: %d, want the staff's limit", n)
	}
	if n := step(1, 400, 1, light); n != 400 {
		t.Errorf("staff limit lowered to 400: limit %d", n)
	}
	// A tick that stalled for 10 s moves the limit by one second's worth.
	now = now.Add(10 * time.Second)
	if n := p.next(now, 20000, 400, strained); math.Abs(float64(n)-400*shrink) > 1 {
		t.Errorf("after a 10 s stall, strained: %d, want %.0f", n, 400*shrink)
	}
	now = now.Add(idleReset + time.Second)
	if n := p.next(now, 20000, 0, light); n != startActive {
		t.Errorf("next opening starts at %d, want %v", n, startActive)
	}
}

// TestLoadFollowsTransactions: slow transactions strain, fast ones and silence do not.
func TestLoadFollowsTransactions(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	s := New(sqldb, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if l := s.load(); l != light {
		t.Errorf("nobody registering: %v, want light", l)
	}
	for range 50 {
		s.latency.observe(200 * time.Millisecond)
	}
	if l := s.load(); l != strained {
		t.Errorf("transactions averaging 200 ms: %v, want strained", l)
	}
	for range 50 {
		s.latency.observe(50 * time.Millisecond)
	}
	if l := s.load(); l != busy {
		t.Errorf("transactions averaging about 50 ms: %v, want busy", l)
	}
	for range 80 {
		s.latency.observe(2 * time.Millisecond)
	}
	if l := s.load(); l != light {
		t.Errorf("transactions averaging 2 ms: %v, want light", l)
	}
}

// TestPacePerWindow: each window has its own limit; a small window's ceiling does not
// clamp another's.
func TestPacePerWindow(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	s := New(sqldb, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if _, n := s.Pace(1, 100, 30, 0); n != 30 {
		t.Errorf("window 1, staff limit 30: %d", n)
	}
	if _, n := s.Pace(2, 100, 20000, 0); n != startActive {
		t.Errorf("window 2 after window 1's limit of 30: %d, want its own opening limit %v", n, startActive)
	}
}
