package web

import (
	"sync"
	"time"
)

// rateLimiter is a token bucket per student, on this replica. Buckets idle long enough
// to be full again are dropped, so memory follows the active students.
type rateLimiter struct {
	mu      sync.Mutex
	burst   float64
	rate    float64
	buckets map[int64]*bucket
	swept   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newRateLimiter(burst, perSecond float64) *rateLimiter {
	return &rateLimiter{burst: burst, rate: perSecond, buckets: map[int64]*bucket{}}
}

// allow takes a token from the student's bucket, if there is one.
func (l *rateLimiter) allow(student int64, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		full := time.Duration(l.burst / l.rate * float64(time.Second))
		for id, b := range l.buckets {
			if now.Sub(b.at) > full {
				delete(l.buckets, id)
			}
		}
		l.swept = now
	}
	b := l.buckets[student]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[student] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.rate)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
