package waitingroom

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/schoolservice/school/db"
)

type metrics struct {
	admitted      prometheus.Counter
	shuffled      prometheus.Counter
	wait          prometheus.Histogram
	tickDuration  prometheus.Histogram
	tickErrors    prometheus.Counter
	flushDuration prometheus.Histogram
	flushErrors   prometheus.Counter
	retries       *prometheus.CounterVec
}

// retry counts a transaction of op run again after a deadlock or lock-wait timeout.
func (m *metrics) retry(op string) db.TxOption {
	c := m.retries.WithLabelValues(op)
	return db.OnRetry(func(error) { c.Inc() })
}

// durationBuckets time ticks and write-backs: a tick takes milliseconds, the opening
// shuffle of a large pre-queue and a write-back of a hundred thousand places longer.
var durationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(reg prometheus.Registerer, r *Room) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		admitted: f.NewCounter(prometheus.CounterOpts{Namespace: "school", Name: "waiting_room_admitted_total",
			Help: "Students admitted from the waiting room by this replica's admission ticks."}),
		shuffled: f.NewCounter(prometheus.CounterOpts{Namespace: "school", Name: "waiting_room_prequeue_shuffled_total",
			Help: "Pre-queue places ordered by the opening shuffle."}),
		wait: f.NewHistogram(prometheus.HistogramOpts{Namespace: "school", Name: "waiting_room_wait_seconds",
			Help:    "Time from joining (or the opening, for the pre-queue) to admission.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600}}),
		// The histograms' _count are the ticks and write-backs run.
		tickDuration: f.NewHistogram(prometheus.HistogramOpts{Namespace: "school", Name: "waiting_room_tick_duration_seconds",
			Help: "Time an admission tick took (sweep, ordering and admission of one window), failed or not.", Buckets: durationBuckets}),
		tickErrors: f.NewCounter(prometheus.CounterOpts{Namespace: "school", Name: "waiting_room_tick_errors_total",
			Help: "Admission ticks that failed after all their attempts."}),
		flushDuration: f.NewHistogram(prometheus.HistogramOpts{Namespace: "school", Name: "waiting_room_flush_duration_seconds",
			Help: "Time a write-back of the students seen polling took, failed or not.", Buckets: durationBuckets}),
		flushErrors: f.NewCounter(prometheus.CounterOpts{Namespace: "school", Name: "waiting_room_flush_errors_total",
			Help: "Write-backs of the students seen polling that failed (in part)."}),
		retries: f.NewCounterVec(prometheus.CounterOpts{Namespace: "school", Name: "waiting_room_retries_total",
			Help: "Waiting-room transactions run again after a deadlock or lock-wait timeout, by operation (tick, sweep, flush, join)."}, []string{"op"}),
	}
	for _, op := range []string{"tick", "sweep", "flush", "join"} {
		m.retries.WithLabelValues(op)
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "school", Name: "waiting_room_admit_rate_set",
		Help: "Admissions a second staff set, over the open, unpaused queued windows."}, func() float64 { return r.rates().Set })
	f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "school", Name: "waiting_room_admit_rate_target",
		Help: "The admission rate this replica's last ticks aimed at (the set one, paced by what the backend sustains)."}, func() float64 { return r.rates().Target })
	f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "school", Name: "waiting_room_admit_rate_measured",
		Help: "Admissions a second measured over the last ten seconds (all replicas), over the open queued windows."}, func() float64 { return r.rates().Measured })
	f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "school", Name: "waiting_room_waiting",
		Help: "Students waiting, over all queued windows, as this replica last saw."}, func() float64 { return r.sum(func(w *window) int { return w.waiting }) })
	// The autoscaler raises capacity ahead of this.
	f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "school", Name: "registration_next_window_open_timestamp_seconds",
		Help: "When the next registration window opens (Unix seconds); 0 when none is planned."}, r.nextOpening)
	f.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "school", Name: "waiting_room_active",
		Help: "Admitted students holding a pass, over all queued windows."}, func() float64 { return r.sum(func(w *window) int { return w.active }) })
	return m
}

func (r *Room) nextOpening() float64 {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	t, err := r.q.NextWindowOpening(ctx, r.now().UTC())
	if err != nil || t.Unix() <= 0 {
		return 0
	}
	return float64(t.Unix())
}

func (r *Room) sum(f func(*window) int) float64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := 0
	for _, w := range r.windows {
		n += f(w)
	}
	return float64(n)
}

// Rates are a waiting room's admission rates: the one staff set, the one this replica's
// last tick aimed at (Options.Pace), and the one measured.
type Rates struct {
	Set, Target, Measured float64
}

// rates sums every window's.
func (r *Room) rates() Rates {
	var out Rates
	r.mu.RLock()
	ids := make([]int64, 0, len(r.windows))
	for id := range r.windows {
		ids = append(ids, id)
	}
	r.mu.RUnlock()
	for _, id := range ids {
		x := r.Rates(id)
		out.Set += x.Set
		out.Target += x.Target
		out.Measured += x.Measured
	}
	return out
}

// Rates returns the window's admission rates, as this replica last saw; zeros when the
// window's room is not open.
func (r *Room) Rates(windowID int64) Rates {
	r.mu.RLock()
	w := r.windows[windowID]
	r.mu.RUnlock()
	if w == nil || r.now().Before(w.OpensAt) {
		return Rates{}
	}
	var x Rates
	if !w.Paused {
		x.Set = w.AdmitPerSecond
		x.Target = w.AdmitPerSecond
		if v, ok := r.paced.Load(windowID); ok {
			x.Target = v.(float64)
		}
	}
	x.Measured = w.measured()
	return x
}
