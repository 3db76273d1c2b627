package autoscaler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/prometheus/common/model"
)

// PrometheusSource is the Source that reads the signals from Prometheus: each configured
// query is an instant query at the evaluation time, all of them run at once.
//
// A result is a known signal only when it is exactly one sample (a vector of one element,
// or a scalar) whose value is finite. Anything else is unknown: an empty result, several
// series, a NaN or ±Inf, a native histogram, a failed query.
//
// Staleness. The timestamp an instant query returns is the evaluation time, not the age
// of the data, and the age of an arbitrary expression's inputs cannot be read from its
// result (aggregations drop it). So the source leans on Prometheus's own staleness
// handling, in three layers:
//
//  1. Staleness markers: when a scrape fails or a target disappears, Prometheus marks all
//     its series stale at that scrape, and from then on instant vector selectors (and
//     every sum, max or arithmetic over them) return nothing. The result is empty, hence
//     unknown, within one scrape interval of the exporter going away. This is what the
//     integration test checks against a real Prometheus.
//  2. Series without staleness markers (Prometheus restarted while the target was down,
//     samples exposed with explicit timestamps, federated or remote-written data) are
//     otherwise selected for the server's lookback delta, 5m by default. Each query
//     therefore carries lookback_delta=Staleness, so such a sample older than Staleness
//     is not selected and the result goes empty. Prometheus honours the parameter from
//     2.43 on; an older server ignores it (the source logs a warning once), and there
//     --query.lookback-delta should be set to the staleness. Staleness must stay well
//     above the scrape interval, or a healthy series blinks out between scrapes.
//  3. Range functions (rate(x[2m]), max_over_time) still see the samples inside their
//     window after the markers, so they stay known for up to the window's length after
//     an outage: keep every range window at or below Staleness (the defaults do:
//     rate[2m] and [1m] against 2m). NewPrometheusSource warns about longer windows.
type PrometheusSource struct {
	api       promv1.API
	url       string
	queries   [numSignals]string
	staleness time.Duration
	timeout   time.Duration
	log       *slog.Logger
	errors    *prometheus.CounterVec
	now       func() time.Time
	// versionChecked is set once the server's version has been read (layer 2 above).
	versionChecked atomic.Bool
}

// The signals, in the order of PrometheusSource.queries; the names are the metrics' and
// the logs' signal labels.
const (
	sigCPU = iota
	sigMemory
	sigWaitingRoom
	sigRequestRate
	sigNextWindow
	sigReadyNodes
	sigInFlight
	sigArrivalRate
	numSignals
)

var signalNames = [numSignals]string{"cpu", "memory", "waiting_room", "request_rate", "next_window", "ready_nodes", "in_flight", "arrival_rate"}

// defaultPrometheusTimeout bounds an observation when the config sets no timeout: a hung
// Prometheus must not stall the control loop.
const defaultPrometheusTimeout = 10 * time.Second

// NewPrometheusSource builds the source from the config; reg receives its error counter
// (nil registers nothing), log its warnings (nil discards them).
func NewPrometheusSource(cfg PrometheusConfig, log *slog.Logger, reg prometheus.Registerer) (*PrometheusSource, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := api.NewClient(api.Config{Address: cfg.URL})
	if err != nil {
		return nil, fmt.Errorf("prometheus url %q: %w", cfg.URL, err)
	}
	s := &PrometheusSource{
		api: promv1.NewAPI(client),
		url: cfg.URL,
		queries: [numSignals]string{strings.TrimSpace(cfg.CPUQuery), strings.TrimSpace(cfg.MemoryQuery),
			strings.TrimSpace(cfg.WaitingRoomQuery), strings.TrimSpace(cfg.RequestRateQuery), strings.TrimSpace(cfg.NextWindowQuery),
			strings.TrimSpace(cfg.ReadyNodesQuery), strings.TrimSpace(cfg.InFlightQuery), strings.TrimSpace(cfg.ArrivalRateQuery)},
		staleness: cfg.Staleness.D(),
		timeout:   cmp.Or(cfg.Timeout.D(), defaultPrometheusTimeout),
		log:       log,
		errors: promauto.With(reg).NewCounterVec(prometheus.CounterOpts{Namespace: "autoscaler", Name: "prometheus_query_errors_total",
			Help: "Prometheus queries that failed (the signal was unknown for that evaluation)."}, []string{"signal"}),
		now: time.Now,
	}
	if s.staleness > 0 {
		for i, q := range s.queries {
			if w := longestRange(q); w > s.staleness {
				log.Warn("prometheus query's range window is longer than the staleness: after an outage the signal stays known for up to the window",
					slog.String("signal", signalNames[i]), slog.Duration("window", w), slog.Duration("staleness", s.staleness))
			}
		}
	}
	return s, nil
}

// rangeRe matches a range or subquery selector's duration: [2m], [1h30m], [5m:30s].
var rangeRe = regexp.MustCompile(`\[\s*([0-9][0-9a-z]*)\s*(?::[^\]]*)?\]`)

// longestRange is the longest range window written in a query (a textual scan: enough
// for a warning).
func longestRange(q string) time.Duration {
	var longest time.Duration
	for _, m := range rangeRe.FindAllStringSubmatch(q, -1) {
		if d, err := model.ParseDuration(m[1]); err == nil && time.Duration(d) > longest {
			longest = time.Duration(d)
		}
	}
	return longest
}

// result is one query's outcome.
type result struct {
	sig Signal
	// reached is true when Prometheus answered, even with an error about the query.
	reached bool
	err     error
}

// Observe runs the queries at one evaluation time. A query that fails makes only its own
// signal unknown (logged and counted); Observe returns an error only when no query
// reached Prometheus at all.
func (s *PrometheusSource) Observe(ctx context.Context) (Observations, error) {
	now := s.now()
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var res [numSignals]result
	var wg sync.WaitGroup
	for i, q := range s.queries {
		if q != "" {
			wg.Go(func() { res[i] = s.query(ctx, signalNames[i], q, now) })
		}
	}
	wg.Wait()

	var asked, reached int
	var firstErr error
	for i, r := range res {
		if s.queries[i] == "" {
			continue // not configured: unknown
		}
		asked++
		if r.reached {
			reached++
		}
		if r.err != nil {
			s.errors.WithLabelValues(signalNames[i]).Inc()
			if firstErr == nil {
				firstErr = r.err
			}
		}
	}
	if asked > 0 && reached == 0 {
		return Observations{At: now}, fmt.Errorf("prometheus at %s: %w", s.url, firstErr)
	}
	for i, r := range res {
		if r.err != nil {
			s.log.WarnContext(ctx, "prometheus query failed; the signal is unknown",
				slog.String("signal", signalNames[i]), slog.String("query", s.queries[i]), slog.Any("error", r.err))
		}
	}
	s.checkVersion(ctx)

	obs := Observations{
		At:          now,
		CPU:         res[sigCPU].sig,
		Memory:      res[sigMemory].sig,
		WaitingRoom: res[sigWaitingRoom].sig,
		RequestRate: res[sigRequestRate].sig,
		ReadyNodes:  res[sigReadyNodes].sig,
		InFlight:    res[sigInFlight].sig,
		ArrivalRate: res[sigArrivalRate].sig,
	}
	if nw := res[sigNextWindow].sig; nw.Known && nw.Value > 0 && nw.Value < maxUnixSeconds {
		sec, frac := math.Modf(nw.Value)
		obs.NextWindow = time.Unix(int64(sec), int64(frac*1e9))
	}
	return obs, nil
}

// maxUnixSeconds is the end of year 9999: a larger "timestamp" is nonsense, not a window.
const maxUnixSeconds = 253402300800

// query runs one instant query and judges its result.
func (s *PrometheusSource) query(ctx context.Context, name, q string, now time.Time) result {
	var opts []promv1.Option
	if s.staleness > 0 {
		opts = append(opts, promv1.WithLookbackDelta(s.staleness))
	}
	opts = append(opts, promv1.WithTimeout(s.timeout))
	v, warnings, _, err := s.api.Query(ctx, q, now, opts...)
	if err != nil {
		var apiErr *promv1.Error
		reached := errors.As(err, &apiErr) && answeredByPrometheus(apiErr.Type)
		return result{reached: reached, err: err}
	}
	if len(warnings) > 0 {
		s.log.DebugContext(ctx, "prometheus query warnings", slog.String("signal", name), slog.Any("warnings", []string(warnings)))
	}
	var val model.SampleValue
	switch v := v.(type) {
	case model.Vector:
		if len(v) != 1 {
			if len(v) > 1 {
				s.log.WarnContext(ctx, "prometheus query returned several series, want one; the signal is unknown",
					slog.String("signal", name), slog.String("query", q), slog.Int("series", len(v)))
			}
			return result{reached: true}
		}
		if v[0].Histogram != nil {
			return result{reached: true}
		}
		val = v[0].Value
	case *model.Scalar:
		val = v.Value
	default:
		s.log.WarnContext(ctx, "prometheus query returned a "+v.Type().String()+", want a vector or scalar; the signal is unknown",
			slog.String("signal", name), slog.String("query", q))
		return result{reached: true}
	}
	f := float64(val)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return result{reached: true}
	}
	return result{reached: true, sig: Known(f)}
}

// answeredByPrometheus tells the API's own errors (a bad query, an evaluation that failed
// or timed out: Prometheus was reached) from a proxy's or the network's.
func answeredByPrometheus(t promv1.ErrorType) bool {
	switch t {
	case promv1.ErrBadData, promv1.ErrExec, promv1.ErrTimeout, promv1.ErrCanceled:
		return true
	}
	return false
}

// checkVersion warns once when the server is older than 2.43 and so ignores
// lookback_delta (staleness layer 2).
func (s *PrometheusSource) checkVersion(ctx context.Context) {
	if s.staleness <= 0 || s.versionChecked.Load() || ctx.Err() != nil {
		return
	}
	bi, err := s.api.Buildinfo(ctx)
	if err != nil {
		return // try again next time
	}
	s.versionChecked.Store(true)
	if !lookbackDeltaSupported(bi.Version) {
		s.log.WarnContext(ctx, "this Prometheus ignores the per-query lookback_delta (2.43 and later honour it): series without staleness markers stay visible for its --query.lookback-delta (5m by default) instead of the staleness; set that flag to the staleness",
			slog.String("version", bi.Version), slog.Duration("staleness", s.staleness))
	}
}

// lookbackDeltaSupported reports whether a Prometheus version ("2.42.0+ds", "3.5.0")
// honours lookback_delta; an unreadable version is given the benefit of the doubt.
func lookbackDeltaSupported(version string) bool {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return true
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return true
	}
	return major > 2 || major == 2 && minor >= 43
}
