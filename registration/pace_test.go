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
// registrations are fast and the students fill it (more slowly just after a strain),
// holds while busy or while they do not fill it, falls while strained and the students
// active are within it (never below its floor nor above the staff's limit), and starts
// small again at the next opening.
func TestPacer(t *testing.T) {
	var p pacer
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	step := func(seconds float64, ceiling int64, activeShare float64, l load) int64 {
		var n int64
		for range int(seconds * 4) {
			now = now.Add(250 * time.Millisecond)
			n = p.next(now, ceiling, int64(activeShare*p.limit), l, 1)
		}
		return n
	}
	if n := p.next(now, 20000, 0, light, 1); n != startActive {
		t.Fatalf("opening limit %d, want %v", n, startActive)
	}
	if n := p.next(now, 30, 0, light, 1); n != 30 {
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
	if n := step(8, 20000, 1, light); math.Abs(float64(n)-minActive*math.Pow(steadyGrowth, 8)) > 1 {
		t.Errorf("fast and full for 8 s after a strain: %d, want %.0f", n, minActive*math.Pow(steadyGrowth, 8))
	}
	step(2, 20000, 1, light)
	settled := p.limit
	if n := step(3, 20000, 1, light); math.Abs(float64(n)-settled*math.Pow(growth, 3)) > 1 {
		t.Errorf("fast and full for 3 s once %v passed without a strain: %d, want %.0f", settleAfter, n, settled*math.Pow(growth, 3))
	}
	if n := step(300, 20000, 1, light); n != 20000 {
		t.Errorf("fast and full for five minutes: %d, want the staff's limit", n)
	}
	if n := step(1, 400, 1, light); n != 400 {
		t.Errorf("staff limit lowered to 400: limit %d", n)
	}
	// A tick that stalled for 10 s moves the limit by one second's worth.
	now = now.Add(10 * time.Second)
	if n := p.next(now, 20000, 400, strained, 0); math.Abs(float64(n)-400*shrink) > 1 {
		t.Errorf("after a 10 s stall, strained: %d, want %.0f", n, 400*shrink)
	}
	now = now.Add(idleReset + time.Second)
	if n := p.next(now, 20000, 0, light, 1); n != startActive {
		t.Errorf("next opening starts at %d, want %v", n, startActive)
	}
	if n := step(5, 20000, 1, light); math.Abs(float64(n)-startActive*math.Pow(growth, 5)) > 2 {
		t.Errorf("fast and full for 5 s at the next opening: %d, want %.0f (its growth, not the steady one)", n, startActive*math.Pow(growth, 5))
	}
	// A strain while more are active than the limit (it holds) has found the
	// backend's limit all the same: growth is the steady one from then on.
	grown := p.limit
	step(1, 20000, 1.5, strained)
	if n := step(5, 20000, 1, light); math.Abs(float64(n)-grown*math.Pow(steadyGrowth, 5)) > 2 {
		t.Errorf("fast and full for 5 s after a strain over the limit: %d, want %.0f", n, grown*math.Pow(steadyGrowth, 5))
	}
}

// TestGrowthSlowsNearFast: the closer the mean is to fastLatency, the slower the limit
// grows; at it, the limit holds.
func TestGrowthSlowsNearFast(t *testing.T) {
	var p pacer
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	p.next(now, 20000, 0, light, 1)
	for _, room := range []float64{0.5, 0.1, 0} {
		from := p.limit
		for range 8 {
			now = now.Add(250 * time.Millisecond)
			p.next(now, 20000, int64(p.limit), light, room)
		}
		if want := from * math.Pow(1+(growth-1)*room, 2); math.Abs(p.limit-want) > 0.01 {
			t.Errorf("fast and full for 2 s with %v of fastLatency left: %.2f, want %.2f", room, p.limit, want)
		}
	}
}

// TestLoadFollowsTransactions: slow transactions strain, fast ones and silence do not.
func TestLoadFollowsTransactions(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	s := New(sqldb, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	now := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	if l, room := s.load(now); l != light || room != 1 {
		t.Errorf("nobody registering: %v (room %v), want light with all the room", l, room)
	}
	for _, c := range []struct {
		each time.Duration
		want load
	}{{200 * time.Millisecond, strained}, {50 * time.Millisecond, busy}, {2 * time.Millisecond, light}} {
		s.latency = latency{}
		for range 50 {
			s.latency.observe(now, c.each)
		}
		if l, _ := s.load(now.Add(500 * time.Millisecond)); l != c.want {
			t.Errorf("transactions taking %v: %v, want %v", c.each, l, c.want)
		}
	}
	s.latency = latency{}
	for range 50 {
		s.latency.observe(now, fastLatency*3/4)
	}
	if l, room := s.load(now.Add(500 * time.Millisecond)); l != light || math.Abs(room-7.0/16) > 1e-9 {
		t.Errorf("transactions taking 3/4 of fastLatency: %v with room %v, want light with 1-(3/4)² left", l, room)
	}
}

// TestLoadSeesTheQueue: a wait for a turn at the database (SetQueue) reads as a
// transaction that slow when it is longer than the transactions' mean, and a queue of a
// moment does not hold the pace.
func TestLoadSeesTheQueue(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	s := New(sqldb, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	var delay time.Duration
	s.SetQueue(func(time.Time) time.Duration { return delay })
	now := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		txs, delay time.Duration // 0 txs: none finished
		want       load
	}{
		{0, 0, light},
		{0, 5 * time.Millisecond, light},
		{0, 50 * time.Millisecond, busy},
		{0, 200 * time.Millisecond, strained},
		{2 * time.Millisecond, 0, light},
		{2 * time.Millisecond, 200 * time.Millisecond, strained},
		{200 * time.Millisecond, 5 * time.Millisecond, strained}, // the transactions say so
	} {
		s.latency = latency{}
		if c.txs > 0 {
			for range 20 {
				s.latency.observe(now, c.txs)
			}
		}
		delay = c.delay
		if l, _ := s.load(now.Add(100 * time.Millisecond)); l != c.want {
			t.Errorf("transactions %v, waiting for a turn %v: %v, want %v", c.txs, c.delay, l, c.want)
		}
	}
}

// TestLatencyIsTheLastSeconds: the mean is of the transactions of about the last two
// seconds, each counted once; while none finish, the last mean stands for staleAfter.
func TestLatencyIsTheLastSeconds(t *testing.T) {
	var l latency
	t0 := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if _, ok := l.read(t0); ok {
		t.Fatal("a mean before any transaction")
	}
	for range 30 {
		l.observe(t0, 200*time.Millisecond)
	}
	l.observe(at(500*time.Millisecond), 20*time.Millisecond) // a fast one after the stall
	if avg, ok := l.read(at(900 * time.Millisecond)); !ok || avg != (30*200+20)*time.Millisecond/31 {
		t.Errorf("within the first second: %v %v, want the mean of all 31", avg, ok)
	}
	for range 31 {
		l.observe(at(1200*time.Millisecond), 20*time.Millisecond)
	}
	if avg, ok := l.read(at(1500 * time.Millisecond)); !ok || avg != (30*200+32*20)*time.Millisecond/62 {
		t.Errorf("the next second: %v %v, want the mean of both seconds' 62", avg, ok)
	}
	if avg, ok := l.read(at(2300 * time.Millisecond)); !ok || avg != 20*time.Millisecond {
		t.Errorf("the stall two seconds ago: %v %v, want only the last second's 20 ms", avg, ok)
	}
	// Nothing finishes from here on: a stall reads as the last mean, not as idle.
	if avg, ok := l.read(at(4 * time.Second)); !ok || avg != 20*time.Millisecond {
		t.Errorf("nothing finished for two seconds: %v %v, want the last mean, 20 ms", avg, ok)
	}
	if avg, ok := l.read(at(2300*time.Millisecond + staleAfter)); ok {
		t.Errorf("nothing finished for %v: %v, want no mean", staleAfter, avg)
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
	rate, n := s.Pace(2, 100, 20000, 0)
	if n != startActive {
		t.Errorf("window 2 after window 1's limit of 30: %d, want its own opening limit %v", n, startActive)
	}
	if rate != 100 {
		t.Errorf("window 2's rate: %v a second, want the set 100", rate)
	}
}
