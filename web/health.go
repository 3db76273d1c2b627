package web

import (
	"context"
	"fmt"
	"net/http"
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
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, body := http.StatusOK, "mysql: ok\nldap: ok\n"
	if err := s.db.PingContext(ctx); err != nil {
		status, body = http.StatusServiceUnavailable, "mysql: unreachable\n"
	} else if err := s.dir.Ping(ctx); err != nil {
		status, body = http.StatusServiceUnavailable, "mysql: ok\nldap: unreachable\n"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprint(w, body)
}
