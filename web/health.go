package web

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// healthz says the process is up; it checks nothing else, so a database outage does not
// get healthy replicas restarted.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, "ok")
}

// readyz says whether this replica can serve: MySQL and the directory both answer.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	status, body := s.ready.check(func(ctx context.Context) (int, string) {
		if err := s.db.PingContext(ctx); err != nil {
			return http.StatusServiceUnavailable, "mysql: unreachable\n"
		}
		if err := s.dir.Ping(ctx); err != nil {
			return http.StatusServiceUnavailable, "mysql: ok\nldap: unreachable\n"
		}
		return http.StatusOK, "mysql: ok\nldap: ok\n"
	})
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}

// readiness remembers the last readiness check for a moment: a check costs a MySQL ping
// and a directory search, and kubelet, Prometheus and operators may all ask at once. One
// check runs at a time; whoever asks meanwhile waits for its answer.
type readiness struct {
	mu     sync.Mutex
	at     time.Time // of the last check, on the monotonic clock; zero before the first
	status int
	body   string
}

const (
	// readyFor is how long one check's answer is reused.
	readyFor = time.Second
	// readyTimeout bounds one check, below the readiness probe's timeout (3 s).
	readyTimeout = 2 * time.Second
)

func (c *readiness) check(run func(context.Context) (int, string)) (int, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < readyFor {
		return c.status, c.body
	}
	// Not the request's context: a prober that hangs up must not leave an answer of
	// "unreachable" for the next one.
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	c.status, c.body = run(ctx)
	c.at = time.Now()
	return c.status, c.body
}
