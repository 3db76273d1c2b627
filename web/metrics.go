package web

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/schoolservice/school/internal/ctxsync"
)

const namespace = "school"

type metrics struct {
	requests *prometheus.HistogramVec
	logins   *prometheus.CounterVec
	// failures counts requests that ended without the answer they asked for, by why:
	// client_gone (the client left first), unavailable (MySQL or the directory did not
	// answer) or internal (a fault of the app); the last two answered 503.
	failures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, sqldb *sql.DB) *metrics {
	reg.MustRegister(collectors.NewDBStatsCollector(sqldb, namespace))
	f := promauto.With(reg)
	return &metrics{
		requests: f.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "http_request_duration_seconds",
			Help:      "Time to answer an HTTP request, by route pattern, method and status code.",
			Buckets:   []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "method", "code"}),
		logins: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "logins_total",
			Help:      "Sign-in attempts by result.",
		}, []string{"result"}),
		failures: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "http_request_failures_total",
			Help:      "Requests that ended without their answer: client_gone, unavailable (answered 503) or internal (answered 503).",
		}, []string{"reason"}),
	}
}

// watchTurns shows the queue for the requests' turns at the database (newTurns): how many requests wait
// now, and how many have had to wait.
func watchTurns(reg prometheus.Registerer, t *ctxsync.Turns) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "http_requests_waiting_turn",
			Help:      "Requests waiting, first come first served, for their turn at the database (SCHOOL_DB_TURNS run at once).",
		}, func() float64 { n, _ := t.Queue(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "http_request_turn_waits_total",
			Help:      "Requests that had to wait for a turn at the database.",
		}, func() float64 { _, n := t.Queue(); return float64(n) }),
	)
}

// methodLabel keeps the method label to the methods HTTP defines: a client can send any
// token as a method, and each would otherwise be a new series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// instrument records every request under its chi route pattern, never the raw path, so
// the label set stays bounded whatever URLs clients send.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r, st := withState(r)
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK, state: st}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		code := strconv.Itoa(sw.status)
		if st.gone.Load() && !sw.wrote {
			code = "499" // nginx's code for a client that closed the request: nothing was sent
		}
		m.requests.WithLabelValues(route, methodLabel(r.Method), code).Observe(time.Since(start).Seconds())
	})
}

// statusWriter remembers the status code a handler wrote, and drops what is written
// after an error answer (requestState.answered).
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	state  *requestState
}

func (w *statusWriter) WriteHeader(code int) {
	if w.state != nil && w.state.answered.Load() {
		return
	}
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.state != nil && w.state.answered.Load() {
		return len(b), nil
	}
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
