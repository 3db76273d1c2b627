package waitingroom

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	admitted prometheus.Counter
	shuffled prometheus.Counter
	wait     prometheus.Histogram
}

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
	}
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
