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
// The signal is the mean time of the registration transactions of about the last two seconds
// (latency: the requests that took locks wait for the database's locks and CPU and for
// the app's CPU alike), or how long requests wait now for their turn at the database
// when that is longer (SetQueue); and requests queueing for a pooled connection. Under
// fastLatency, or while nobody registers, the limit grows, but only while the students
// active fill most of it (growth needs evidence): by up to a fifth a second, by up to a
// twentieth (steadyGrowth) within settleAfter of a strain, scaled by the room the mean
// leaves under fastLatency (1 - (mean/fastLatency)²); between the thresholds it holds; over
// slowLatency or while requests wait for a pooled connection it falls by a tenth a
// second, but only while the students active are within it. Once more are active than
// the limit, nobody is admitted, and the load falls as they finish: the students a cut
// has not yet reached are the lag of the loop, and shrinking on through it cut the limit
// to a tenth in ten seconds, the load collapsed, and it grew back at a fifth a second
// (the rehearsal's answers dipped to a tenth every 25-30 s). Every opening (no tick asked
// in idleReset) starts the limit at startActive.
//
// Growth slows as the mean nears fastLatency because what the pacer sees lags what it
// did by seconds: a student let in clicks a few seconds later, and the mean is of two
// seconds. At a fifth a second whatever the mean, the limit ran past where the mean
// crossed fastLatency by half or more before the transactions showed it, then the mean
// crossed slowLatency and the limit was cut by half (the rehearsal's limit swung between
// 430 and 1,700 every 20-30 s, and each swing was a spike of the register p99: 276-674
// ms in three runs, 160-269 ms in six with the room; BENCHMARKS.md, "fifteenth"). The
// room is quadratic: linear, the growth slowed from half the threshold on and the
// opening's rush on the hot sections, which keeps the mean near it with few students
// active, held the limit under 100 for 25 s.
const (
	// fastLatency: at 30 ms, with growth at a fifth a second up to it, the limit grew on
	// to 2,000-2,700 students and the register p99 rose to 373-714 ms (BENCHMARKS.md,
	// "thirteenth"); with the growth slowing on the way (room) the limit settles below
	// that. Where it settles trades the finishing time against the tail ("fifteenth"):
	// the rehearsal ended 5:14 after the opening at 20 ms (register p99 182 ms), 5:09 at
	// 30 ms (220-254 ms), 4:59-5:07 at 40 ms (244-328 ms, over 300 in two runs of three).
	fastLatency = 30 * time.Millisecond
	slowLatency = 80 * time.Millisecond

	// startActive: from 50, an opening took 20-40 s to reach the few hundred students the
	// first minute sustains (the hot sections' rush keeps the mean near fastLatency), and
	// the first minute answered 8,700-15,000 clicks against 33,000-35,000 a later one.
	startActive = 200.0
	minActive   = 10.0 // however strained: a crowd that never moves is no answer either
	growth      = 1.2  // per second, while fast and full (but see steadyGrowth)
	// steadyGrowth: per second, while fast and full within settleAfter of a strain.
	// Students admitted now click their first registrations seconds later, so growth
	// at a fifth a second right after a cut overshot by half before the first
	// transaction slowed (the rehearsal's limit swung between 450 and 1,450 every
	// 20-25 s, each swing a burst of students on the same hot sections); growth at a
	// twentieth for good after the first strain held the opening back (its first
	// strain is the rush on the hot sections, not the backend's limit).
	steadyGrowth = 1.05
	settleAfter  = 10 * time.Second
	shrink       = 0.9 // per second, while strained
	// full: the share of the limit the active students must fill for it to grow.
	full      = 0.8
	idleReset = 30 * time.Second
)

// latency is the mean of the registration transactions that finished in about the last
// two seconds. A moving average over the last few transactions swung between 10 and
// 300 ms within a second in the rehearsal (a stall on the database holds a few dozen
// transactions at once, which then finish together), and the pacer cut and grew the limit
// on each swing: over a second or two, a stall counts as its share of the load.
type latency struct {
	mu        sync.Mutex
	cur, prev span
	// The last mean read, and when: while nothing finishes (a stall, or a lull) it
	// stands for staleAfter, so that a stall does not read as a backend with nothing
	// to do.
	last   time.Duration
	lastAt time.Time
}

const (
	// latencySpan is how long a span of observations runs before the next one starts.
	latencySpan = time.Second
	// staleAfter: a mean this old (nobody registering) says nothing about now.
	staleAfter = 5 * time.Second
)

// span is the transactions that finished from start on.
type span struct {
	start time.Time
	sum   time.Duration
	n     int
}

func (l *latency) observe(now time.Time, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	l.cur.sum += d
	l.cur.n++
}

// roll starts a new span when the current one has run latencySpan; the previous one is
// kept only if it ended just now.
func (l *latency) roll(now time.Time) {
	if now.Sub(l.cur.start) < latencySpan {
		return
	}
	l.prev = span{}
	if now.Sub(l.cur.start) < 2*latencySpan {
		l.prev = l.cur
	}
	l.cur = span{start: now}
}

// read returns the mean of about the last two seconds, or while none finished then the
// last mean read up to staleAfter before; not ok when there is neither.
func (l *latency) read(now time.Time) (avg time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(now)
	if n := l.prev.n + l.cur.n; n > 0 {
		l.last, l.lastAt = (l.prev.sum+l.cur.sum)/time.Duration(n), now
		return l.last, true
	}
	if !l.lastAt.IsZero() && now.Sub(l.lastAt) < staleAfter {
		return l.last, true
	}
	return 0, false
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
	mu         sync.Mutex
	limit      float64 // students active at once; 0 before the first opening
	at         time.Time
	strainedAt time.Time // the last strain; zero: none since the opening
}

// next moves the limit by what load says for the time since the last call, with active
// students active now, and returns it, never above ceiling (the staff's limit).
// room is the share of fastLatency the mean leaves while light: it scales the growth.
func (p *pacer) next(now time.Time, ceiling, active int64, l load, room float64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at.IsZero() || now.Sub(p.at) > idleReset {
		p.limit, p.at, p.strainedAt = startActive, now, time.Time{}
		return min(int64(p.limit), ceiling)
	}
	// A tick that stalled for long moves the limit as if a second had passed, no more.
	dt := min(now.Sub(p.at).Seconds(), 1)
	p.at = now
	switch {
	case l == light && float64(active) >= full*p.limit:
		g := growth
		if !p.strainedAt.IsZero() && now.Sub(p.strainedAt) < settleAfter {
			g = steadyGrowth
		}
		p.limit *= math.Pow(1+(g-1)*room, dt)
	case l == strained && float64(active) <= p.limit:
		p.limit = max(minActive, p.limit*math.Pow(shrink, dt))
	}
	// Strained with more active than the limit (another replica's students, say) is
	// the backend's limit found all the same.
	if l == strained {
		p.strainedAt = now
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
	now := time.Now()
	l, room := s.load(now)
	limit := p.(*pacer).next(now, maxActive, active, l, room)
	s.metrics.pace.Set(float64(limit))
	return rate, limit
}

// load reads the signals at now: the transactions' mean (latency) or the wait for a
// turn at the database (SetQueue), and the transactions' connection pool; while light,
// also the share of fastLatency the mean leaves (1 when nothing is measured).
func (s *Service) load(now time.Time) (load, float64) {
	st := s.txdb.Stats()
	waited := st.WaitCount > s.lastWaits.Swap(st.WaitCount)
	if st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections && waited {
		return strained, 0
	}
	avg, ok := s.latency.read(now)
	// A request waiting for its turn has that wait ahead of its transaction: a queue
	// that long reads as transactions that slow. (A burst that queues for a moment, as
	// every hot section's opening does, is not the backend's limit.)
	if s.queueDelay != nil {
		if d := s.queueDelay(now); d > 0 {
			avg, ok = max(avg, d), true
		}
	}
	switch {
	case !ok:
		return light, 1
	case avg < fastLatency:
		r := float64(avg) / float64(fastLatency)
		return light, 1 - r*r
	case avg > slowLatency:
		return strained, 0
	}
	return busy, 0
}
