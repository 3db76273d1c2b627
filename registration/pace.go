package registration

import (
	"math"
	"sync"
	"time"
)

// The waiting room asks AdmitRate, every tick, how many students a second to let in. Staff
// set a ceiling; below it this replica finds what the backend sustains from what
// registrations cost right now, so that nobody has to guess a rate that the machine holds
// (issue 15): set the ceiling high and the pace settles where registrations stay fast.
//
// The signal is the moving average of registration transactions (the requests that took
// locks: they wait for the database's locks and CPU and for the app's CPU alike) and
// requests queueing for a database connection. The pace grows by a quarter a second
// while that average is under fastLatency or while nobody registers; holds between;
// falls by 30% a second over slowLatency or while requests wait for a connection. An
// admitted student's clicks come seconds after their admission, so the pace must not
// begin at the ceiling: every opening (a pace not asked for in idleReset) starts at
// startRate, and climbs while the students it let in register fast.
const (
	fastLatency = 30 * time.Millisecond
	slowLatency = 80 * time.Millisecond
	// staleAfter: an average this old (nobody registering) says nothing about now.
	staleAfter = 5 * time.Second

	startRate = 20.0 // students a second at an opening
	minRate   = 1.0  // however strained: a crowd that never moves is no answer either
	growth    = 1.25 // per second, while fast
	shrink    = 0.7  // per second, while strained
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

// pacer is the admission pace of one replica.
type pacer struct {
	mu   sync.Mutex
	rate float64 // students a second; 0 before the first opening
	at   time.Time
}

// next moves the pace by what load says for the time since the last call and returns
// it, never above ceiling.
func (p *pacer) next(now time.Time, ceiling float64, l load) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at.IsZero() || now.Sub(p.at) > idleReset {
		p.rate, p.at = startRate, now
		return min(p.rate, ceiling)
	}
	// A tick that stalled for long moves the pace as if a second had passed, no more.
	dt := min(now.Sub(p.at).Seconds(), 1)
	p.at = now
	switch l {
	case light:
		p.rate *= math.Pow(growth, dt)
	case strained:
		p.rate = max(minRate, p.rate*math.Pow(shrink, dt))
	}
	// The pace never banks more than the ceiling: lowering the ceiling takes effect at once.
	p.rate = min(p.rate, max(ceiling, minRate))
	return min(p.rate, ceiling)
}

// AdmitRate is how many students a second the waiting room may admit now, at most
// ceiling (the window's set rate).
func (s *Service) AdmitRate(ceiling float64) float64 {
	r := s.pace.next(time.Now(), ceiling, s.load())
	s.metrics.pace.Set(r)
	return r
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
