package registration

import (
	"math"
	"sync"
	"time"
)

// The waiting room asks Pace, every tick of a window, how fast and how many students to let in.
// Staff set a rate and an active limit; below them this replica finds what the backend
// sustains from what registrations cost right now, so that nobody has to guess figures
// the machine holds (issue 15): set both high and the pace settles where registrations
// stay fast.
//
// What the pacer adjusts is how many students may be active at once, not the rate:
// load is what the active students click, and an admitted student's clicks come seconds
// after the admission (the catalog first), so a rate steered by latency overshoots by
// everyone admitted before the latency moved, then starves the room while they finish. A
// limit on the active students counts them from the moment they are let in.
//
// The signal is the moving average of registration transactions (the requests that took
// locks: they wait for the database's locks and CPU and for the app's CPU alike) and
// requests queueing for a database connection. Under fastLatency, or while nobody
// registers, the limit grows by a fifth a second, but only while the students active
// fill most of it (growth needs evidence); between the thresholds it holds; over
// slowLatency or while requests wait for a connection it falls by a fifth a second, but
// only while the students active are within it. Once more are active than the limit,
// nobody is admitted, and the load falls as they finish: the students a cut has not yet
// reached are the lag of the loop, and shrinking on through it cut the limit to a tenth in
// ten seconds, the load collapsed, and it grew back at a fifth a second (the rehearsal's
// answers dipped to a tenth every 25-30 s). Every opening (no tick asked in idleReset)
// starts the limit at startActive.
const (
	fastLatency = 30 * time.Millisecond
	slowLatency = 80 * time.Millisecond
	// staleAfter: an average this old (nobody registering) says nothing about now.
	staleAfter = 5 * time.Second

	startActive = 50.0
	minActive   = 10.0 // however strained: a crowd that never moves is no answer either
	growth      = 1.2  // per second, while fast and full
	shrink      = 0.8  // per second, while strained
	// full: the share of the limit the active students must fill for it to grow.
	full      = 0.8
	idleReset = 30 * time.Second
)

// latency is a moving average of how long registration transactions take.
type latency struct {
	mu  sync.Mutex
	avg float64 // seconds
	at  time.Time
}

func (l *latency) observe(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// Each observation counts for a tenth: the average follows load within seconds on
	// registration day, when hundreds arrive every second.
	l.avg = 0.9*l.avg + 0.1*d.Seconds()
	l.at = time.Now()
}

func (l *latency) read() (avg time.Duration, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Duration(l.avg * float64(time.Second)), l.at
}

// load is what the signals say of the backend now.
type load int

const (
	light    load = iota // fast, or nobody registering: admit more
	busy                 // hold the pace
	strained             // admit fewer
)

// pacer is the admission pace of one window on one replica.
type pacer struct {
	mu    sync.Mutex
	limit float64 // students active at once; 0 before the first opening
	at    time.Time
}

// next moves the limit by what load says for the time since the last call, with active
// students active now, and returns it, never above ceiling (the staff's limit).
func (p *pacer) next(now time.Time, ceiling, active int64, l load) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at.IsZero() || now.Sub(p.at) > idleReset {
		p.limit, p.at = startActive, now
		return min(int64(p.limit), ceiling)
	}
	// A tick that stalled for long moves the limit as if a second had passed, no more.
	dt := min(now.Sub(p.at).Seconds(), 1)
	p.at = now
	switch {
	case l == light && float64(active) >= full*p.limit:
		p.limit *= math.Pow(growth, dt)
	case l == strained && float64(active) <= p.limit:
		p.limit = max(minActive, p.limit*math.Pow(shrink, dt))
	}
	// The limit never banks more than the ceiling: lowering it takes effect at once.
	p.limit = min(p.limit, max(float64(ceiling), minActive))
	return min(int64(p.limit), ceiling)
}

// Pace is the waiting room's admission for a window now: its set rate, and at most
// maxActive (the staff's limit) students active at once, fewer when the backend does not
// sustain that many; active is how many are active now. Each window has its own limit,
// since each has its own students.
func (s *Service) Pace(windowID int64, rate float64, maxActive, active int64) (float64, int64) {
	p, _ := s.pace.LoadOrStore(windowID, &pacer{})
	limit := p.(*pacer).next(time.Now(), maxActive, active, s.load())
	s.metrics.pace.Set(float64(limit))
	return rate, limit
}

// load reads the signals: the transactions' moving average and the connection pool.
func (s *Service) load() load {
	st := s.db.Stats()
	waited := st.WaitCount > s.lastWaits.Swap(st.WaitCount)
	if st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections && waited {
		return strained
	}
	avg, at := s.latency.read()
	switch {
	case time.Since(at) > staleAfter || avg < fastLatency:
		return light
	case avg > slowLatency:
		return strained
	}
	return busy
}
