package autoscaler

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	signal       *prometheus.GaugeVec
	unknown      *prometheus.CounterVec
	actual       *prometheus.GaugeVec
	desired      *prometheus.GaugeVec
	decisions    *prometheus.CounterVec
	targetErrors *prometheus.CounterVec
	failedTicks  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	return &metrics{
		signal: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "autoscaler", Name: "signal",
			Help: "Last known value of each signal."}, []string{"signal"}),
		unknown: f.NewCounterVec(prometheus.CounterOpts{Namespace: "autoscaler", Name: "signal_unknown_total",
			Help: "Evaluations at which a signal was unknown (empty, NaN, stale or failed)."}, []string{"signal"}),
		actual: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "autoscaler", Name: "actual_size",
			Help: "Size each target reports."}, []string{"target"}),
		desired: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "autoscaler", Name: "desired_size",
			Help: "Size the policy wants for each target."}, []string{"target"}),
		decisions: f.NewCounterVec(prometheus.CounterOpts{Namespace: "autoscaler", Name: "decisions_total",
			Help: "Decisions by direction."}, []string{"direction"}),
		targetErrors: f.NewCounterVec(prometheus.CounterOpts{Namespace: "autoscaler", Name: "target_errors_total",
			Help: "Failed reads and changes of a target."}, []string{"target"}),
		failedTicks: f.NewGaugeVec(prometheus.GaugeOpts{Namespace: "autoscaler", Name: "target_failed_evaluations",
			Help: "Evaluations in a row at which a target (or prometheus) failed or was backed off from; /healthz fails at unhealthy_after."}, []string{"target"}),
	}
}

func (m *metrics) observe(o Observations, s Sizes) {
	for name, sig := range map[string]Signal{"cpu": o.CPU, "memory": o.Memory, "waiting_room": o.WaitingRoom, "request_rate": o.RequestRate, "ready_nodes": o.ReadyNodes,
		"in_flight": o.InFlight, "arrival_rate": o.ArrivalRate} {
		if sig.Known {
			m.signal.WithLabelValues(name).Set(sig.Value)
		} else {
			m.unknown.WithLabelValues(name).Inc()
		}
	}
	m.actual.WithLabelValues("onprem").Set(float64(s.OnPremReplicas))
	m.actual.WithLabelValues("eks_nodes").Set(float64(s.EKSNodes))
	m.actual.WithLabelValues("eks_replicas").Set(float64(s.EKSReplicas))
}

func (m *metrics) decided(d Decision) {
	m.decisions.WithLabelValues(d.Direction).Inc()
	m.desired.WithLabelValues("onprem").Set(float64(d.Want.OnPremReplicas))
	m.desired.WithLabelValues("eks_nodes").Set(float64(d.Want.EKSNodes))
	m.desired.WithLabelValues("eks_replicas").Set(float64(d.Want.EKSReplicas))
}
