package registration

import (
	"math"
	"sync"
	"time"
)

// Thresholds of the registration transaction's latency (a moving average) at which the
// backend counts as strained, and as overloaded.
const (
	healthyLatency    = 150 * time.Millisecond
	overloadedLatency = 1500 * time.Millisecond
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

// Health is how much admission the backend can take now, from 0.1 to 1: 1 while
// transactions are fast and the connection pool has room, falling as the average
// transaction time climbs from healthyLatency to overloadedLatency, and at most a half
// while requests queue for a database connection. The waiting room scales its admission
// rate by it.
func (s *Service) Health() float64 {
	s.latency.mu.Lock()
	avg, at := s.latency.avg, s.latency.at
	s.latency.mu.Unlock()
	h := 1.0
	// A stale average (nobody registering) says nothing about now.
	if time.Since(at) < 10*time.Second && avg > healthyLatency.Seconds() {
		span := overloadedLatency.Seconds() - healthyLatency.Seconds()
		h = 1 - 0.9*math.Min(1, (avg-healthyLatency.Seconds())/span)
	}
	st := s.db.Stats()
	if st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections && st.WaitCount > s.lastWaits.Swap(st.WaitCount) {
		h = math.Min(h, 0.5)
	}
	return math.Max(0.1, h)
}
