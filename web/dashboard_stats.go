package web

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// The registration-day dashboard must show the same figures on every replica, and the
// registration path must not gain a write on a shared row. So each replica counts the
// answers it gives, and how long they took, per minute in memory, and adds its counts
// to registration_minutes and registration_latency_minutes every few seconds, in one
// transaction of two multi-row INSERT … ON DUPLICATE KEY UPDATE n = n + VALUES(n). With
// R replicas that is R small transactions per flush interval, whatever the load. The
// dashboard sums those rows, so what it shows lags by at most one flush interval.

// statsFlushEvery is how often a replica adds its counts to the shared tables.
const statsFlushEvery = 5 * time.Second

// statsKeep is how long the per-minute rows are kept.
const statsKeep = 14 * 24 * time.Hour

// latencyBounds are the upper bounds, in milliseconds, of the latency buckets. A time over
// the last bound goes to the overflow bucket, stored as overflowBucket.
var latencyBounds = []int32{5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2500, 5000, 10000}

const overflowBucket = math.MaxInt32

// bucketOf returns the upper bound of d's latency bucket.
func bucketOf(d time.Duration) int32 {
	ms := d.Seconds() * 1000
	for _, b := range latencyBounds {
		if ms <= float64(b) {
			return b
		}
	}
	return overflowBucket
}

type resultKey struct {
	minute time.Time
	result registration.Result
}

type latencyKey struct {
	minute time.Time
	le     int32
}

// dashboardStats are one replica's counts not yet added to the shared tables.
type dashboardStats struct {
	db  *sql.DB
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	results map[resultKey]int64
	latency map[latencyKey]int64
}

func newDashboardStats(sqldb *sql.DB, log *slog.Logger, now func() time.Time) *dashboardStats {
	return &dashboardStats{db: sqldb, log: log, now: now,
		results: map[resultKey]int64{}, latency: map[latencyKey]int64{}}
}

// failed is what the dashboard counts for a registration request answered with a fault
// (5xx): such an answer carries no result.
const failed registration.Result = "error"

// count records one answer with its result.
func (d *dashboardStats) count(result registration.Result) {
	m := d.now().UTC().Truncate(time.Minute)
	d.mu.Lock()
	d.results[resultKey{m, result}]++
	d.mu.Unlock()
}

// took records how long one registration request took.
func (d *dashboardStats) took(elapsed time.Duration) {
	m := d.now().UTC().Truncate(time.Minute)
	d.mu.Lock()
	d.latency[latencyKey{m, bucketOf(elapsed)}]++
	d.mu.Unlock()
}

// flush adds the counts to the shared tables. Counts that could not be written are kept
// for the next flush.
func (d *dashboardStats) flush(ctx context.Context) error {
	d.mu.Lock()
	results, latency := d.results, d.latency
	d.results, d.latency = map[resultKey]int64{}, map[latencyKey]int64{}
	d.mu.Unlock()
	if len(results) == 0 && len(latency) == 0 {
		return nil
	}
	// Rows in key order: replicas flushing at the same moment lock them in the same order.
	rrows := make([][]any, 0, len(results))
	for _, k := range slices.SortedFunc(maps.Keys(results), func(a, b resultKey) int {
		return cmp.Or(a.minute.Compare(b.minute), cmp.Compare(a.result, b.result))
	}) {
		rrows = append(rrows, []any{k.minute, string(k.result), results[k]})
	}
	lrows := make([][]any, 0, len(latency))
	for _, k := range slices.SortedFunc(maps.Keys(latency), func(a, b latencyKey) int {
		return cmp.Or(a.minute.Compare(b.minute), cmp.Compare(a.le, b.le))
	}) {
		lrows = append(lrows, []any{k.minute, k.le, latency[k]})
	}
	err := db.InTx(ctx, d.db, func(q *db.Queries) error {
		if err := q.BulkAdd(ctx, "registration_minutes", []string{"minute_at", "result", "n"}, []string{"n"}, rrows); err != nil {
			return err
		}
		return q.BulkAdd(ctx, "registration_latency_minutes", []string{"minute_at", "le_ms", "n"}, []string{"n"}, lrows)
	})
	if err != nil {
		d.mu.Lock()
		for k, n := range results {
			d.results[k] += n
		}
		for k, n := range latency {
			d.latency[k] += n
		}
		d.mu.Unlock()
		return fmt.Errorf("flush dashboard counts: %w", err)
	}
	return nil
}

// run flushes every interval, prunes old rows now and then, and flushes once more when
// ctx ends (the server is shutting down, its last requests answered).
func (d *dashboardStats) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := d.flush(fctx); err != nil {
				d.log.Error("last flush of the dashboard counts", slog.Any("error", err))
			}
			return
		case <-tick.C:
		}
		if err := d.flush(ctx); err != nil {
			d.log.Warn("dashboard counts", slog.Any("error", err))
		}
		if now := d.now(); now.Sub(lastPrune) > time.Hour {
			lastPrune = now
			if err := d.prune(ctx, now); err != nil {
				d.log.Warn("prune dashboard counts", slog.Any("error", err))
			}
		}
	}
}

// prune drops per-minute rows older than statsKeep and import files never confirmed.
func (d *dashboardStats) prune(ctx context.Context, now time.Time) error {
	q := db.New(d.db)
	before := now.UTC().Add(-statsKeep)
	if err := q.PruneRegistrationMinutes(ctx, before); err != nil {
		return err
	}
	if err := q.PruneLatencyMinutes(ctx, before); err != nil {
		return err
	}
	return q.DeleteStaleImportJobs(ctx, now.UTC().Add(-24*time.Hour))
}

// FlushDashboard adds this replica's counts to the shared tables now, instead of at the
// next tick (tests, and anything that must see its own requests on the dashboard).
func (s *Server) FlushDashboard(ctx context.Context) error { return s.stats.flush(ctx) }

// countRegistrations counts every registration request's result, as the gate or the
// handler noted it (answerResult), and the time the requests that reached a registration
// transaction took. The basket's register-all has no single result: registerBasket counts
// each of its sections itself.
func (s *Server) countRegistrations(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		var result registration.Result
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), resultNote{}, &result)))
		switch {
		case result == registration.Queued || result == registration.RateLimited:
			// Turned away before any registration work: counted, not timed.
			s.stats.count(result)
			return
		case result != "":
			s.stats.count(result)
		case sw.status >= http.StatusInternalServerError:
			s.stats.count(failed)
		}
		if sw.status != http.StatusUnauthorized && sw.status != http.StatusForbidden {
			s.stats.took(time.Since(start))
		}
	})
}
