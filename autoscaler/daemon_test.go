package autoscaler

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The daemon end to end: a real Prometheus scraping an exporter whose utilisation the
// test sets, the real source and policy, and the fake EKS and Argo CD servers. Time for
// the policy is counted in evaluations (one per interval), so the test asserts which
// evaluation acts, never how long anything took.
func TestDaemonFollowsRealPrometheus(t *testing.T) {
	bin := prometheusBinary(t)
	exp := newTestExporter(t)
	exp.set(map[string]float64{"onprem_cpu_utilisation": 0.30})
	promURL := startPrometheus(t, bin, exp.srv.Listener.Addr().String())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src, err := NewPrometheusSource(PrometheusConfig{URL: promURL, CPUQuery: "onprem_cpu_utilisation",
		MemoryQuery: "onprem_cpu_utilisation", Staleness: Duration(5 * time.Second), Timeout: Duration(5 * time.Second)},
		log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	eks, nodes, _ := newEKSTest(t, func(c *EKSConfig) { c.MinNodes = 1 })
	onF, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 3 })
	_, eksApp, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })

	cfg := Defaults()
	cfg.Interval = Duration(time.Second)
	cfg.Policy.UpSustain, cfg.Policy.DownSustain = Duration(3*time.Second), Duration(6*time.Second)
	cfg.Policy.Cooldown = Duration(time.Second)
	cfg.EKS = EKSConfig{MinNodes: 1, MaxNodes: 8}
	cfg.OnPrem = ArgoCDConfig{MinReplicas: 2, MaxReplicas: 3}
	cfg.EKSApp = ArgoCDConfig{MinReplicas: 0, MaxReplicas: 20}
	ctl := NewController(cfg, src, Targets{OnPrem: onprem, Nodes: nodes, EKSApp: eksApp}, false, log, prometheus.NewRegistry())
	clock := time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)
	ctl.now = func() time.Time { return clock }
	// evaluate runs one evaluation per interval of the policy's clock.
	evaluate := func() Decision {
		t.Helper()
		clock = clock.Add(cfg.Interval.D())
		d, err := ctl.Step(t.Context())
		if err != nil {
			t.Fatalf("evaluation at %s: %v", clock.Format(time.TimeOnly), err)
		}
		return d
	}

	waitObs(t, src, "the exporter's 0.30", func(o Observations) bool { return o.CPU.Known && o.CPU.Value == 0.30 })
	if d := evaluate(); d.Direction != "hold" {
		t.Fatalf("at 0.30: %s (%s)", d.Direction, d.Reason)
	}

	// Load rises: nothing until the up-sustain (3 evaluations), then up at the first
	// evaluation after it, on-prem spare first.
	exp.set(map[string]float64{"onprem_cpu_utilisation": 0.95})
	waitObs(t, src, "the exporter's 0.95", func(o Observations) bool { return o.CPU.Known && o.CPU.Value == 0.95 })
	var up Decision
	for i := 1; i <= 4; i++ {
		d := evaluate()
		if i <= 3 && d.Direction != "hold" {
			t.Fatalf("evaluation %d of the rise (sustain not over): %s (%s)", i, d.Direction, d.Reason)
		}
		up = d
	}
	if up.Direction != "up" {
		t.Fatalf("first evaluation after the up-sustain: %s (%s)", up.Direction, up.Reason)
	}
	if n, _ := onprem.Size(t.Context()); n != 3 {
		t.Errorf("on-prem replicas %d after scaling up, want the spare's 3", n)
	}
	if syncs, _ := onF.counts(); syncs == 0 {
		t.Error("the on-prem application was not synced after the change")
	}
	// The node group takes the update (it reports the new size once ACTIVE again).
	updates := eks.updates()
	if len(updates) != 1 || updates[0].desired == nil || *updates[0].desired != up.Want.EKSNodes || *updates[0].desired > 8 {
		t.Errorf("EKS updates %+v, want one asking for %d (%s)", updates, up.Want.EKSNodes, up.Reason)
	}

	// Load falls: nothing until the down-sustain (6 evaluations), EKS given back first.
	exp.set(map[string]float64{"onprem_cpu_utilisation": 0.20})
	waitObs(t, src, "the exporter's 0.20", func(o Observations) bool { return o.CPU.Known && o.CPU.Value == 0.20 })
	var down Decision
	for i := 1; i <= 7; i++ {
		d := evaluate()
		if i <= 6 && d.Direction == "down" {
			t.Fatalf("evaluation %d of the fall (sustain not over): down (%s)", i, d.Reason)
		}
		down = d
	}
	if down.Direction != "down" {
		t.Fatalf("first evaluation after the down-sustain: %s (%s)", down.Direction, down.Reason)
	}

	// Prometheus loses the exporter: unknown, which never scales down.
	exp.srv.Close()
	waitObs(t, src, "the signal to become unknown", func(o Observations) bool { return !o.CPU.Known })
	for i := 0; i < 10; i++ {
		if d := evaluate(); d.Direction == "down" {
			t.Fatalf("scaled down on an unknown signal: %s", d.Reason)
		}
	}
}
