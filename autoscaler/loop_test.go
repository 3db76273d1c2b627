package autoscaler

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// recorded notes the order in which the loop changes the (fake-server-backed) targets.
type recorded struct {
	Target
	name string
	mu   *sync.Mutex
	log  *[]string
}

func (r recorded) Resize(ctx context.Context, n int) error {
	r.mu.Lock()
	*r.log = append(*r.log, r.name)
	r.mu.Unlock()
	return r.Target.Resize(ctx, n)
}

// fixedSource reports the same utilisation every time (the Prometheus side has its own
// test against a real Prometheus), and as ready EKS nodes what ready returns (none when
// ready is nil).
type fixedSource struct {
	u     float64
	ready func() int
}

func (f *fixedSource) Observe(context.Context) (Observations, error) {
	o := Observations{CPU: Known(f.u), Memory: Known(f.u), ReadyNodes: Known(0)}
	if f.ready != nil {
		o.ReadyNodes = Known(float64(f.ready()))
	}
	return o, nil
}

// readyAsDesired is a cluster whose nodes are ready as soon as the node group has them.
func readyAsDesired(f *eksFake) func() int {
	return func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.status == "ACTIVE" {
			return f.desired
		}
		return 0
	}
}

func TestLoopOrdersActionsAndHonoursDryRun(t *testing.T) {
	eks, nodes, _ := newEKSTest(t, func(c *EKSConfig) { c.MinNodes = 0 })
	eks.setStatus("ACTIVE", 0)
	_, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 3 })
	appF, eksApp, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })
	var mu sync.Mutex
	var order []string
	targets := Targets{
		OnPrem: recorded{onprem, "onprem", &mu, &order},
		Nodes:  recorded{nodes, "eks_nodes", &mu, &order},
		EKSApp: recorded{eksApp, "eks_replicas", &mu, &order},
	}
	cfg := Defaults()
	cfg.Policy.UpSustain, cfg.Policy.DownSustain, cfg.Policy.Cooldown = Duration(time.Minute), Duration(2*time.Minute), Duration(time.Minute)
	cfg.EKS = EKSConfig{MinNodes: 0, MaxNodes: 8}
	cfg.OnPrem = ArgoCDConfig{MinReplicas: 2, MaxReplicas: 3}
	cfg.EKSApp = ArgoCDConfig{MinReplicas: 0, MaxReplicas: 20}
	src := &fixedSource{u: 0.99, ready: readyAsDesired(eks)}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	clock := time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)
	step := func(ctl *Controller) Decision {
		t.Helper()
		clock = clock.Add(time.Minute)
		d, err := ctl.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	// Dry run: decisions, nothing sent.
	dry := NewController(cfg, src, targets, true, log, prometheus.NewRegistry())
	dry.now = func() time.Time { return clock }
	step(dry)
	if d := step(dry); d.Direction != "up" {
		t.Fatalf("dry run decided %s (%s)", d.Direction, d.Reason)
	}
	if len(order) != 0 || len(eks.updates()) != 0 {
		t.Fatalf("dry run sent %v", order)
	}

	// Up: on-prem, then nodes; the replicas that need them once they are ready.
	cfg.Policy.Cooldown = Duration(2 * time.Minute)
	ctl := NewController(cfg, src, targets, false, log, prometheus.NewRegistry())
	ctl.now = func() time.Time { return clock }
	if d := step(ctl); !d.Filled { // the node group's 2 nodes get their replicas first
		t.Fatalf("first evaluation: %s, want the replicas to fill the 2 ready nodes", d.Reason)
	}
	order = order[:0]
	if d := step(ctl); d.Direction != "up" {
		t.Fatalf("decided %s (%s)", d.Direction, d.Reason)
	}
	if want := []string{"onprem", "eks_nodes"}; !equal(order, want) {
		t.Errorf("up order %v, want %v", order, want)
	}
	if d := step(ctl); d.Direction != "up" || !d.Filled {
		t.Fatalf("once the nodes are ready: %s (%s), want the replicas to fill them", d.Direction, d.Reason)
	}
	if want := []string{"onprem", "eks_nodes", "eks_replicas"}; !equal(order, want) {
		t.Errorf("up order %v, want %v", order, want)
	}
	if syncs, _ := appF.counts(); syncs == 0 {
		t.Error("EKS replicas not synced")
	}

	// Down: replicas before the nodes they run on, on-prem last.
	eks.setStatus("ACTIVE", 0)
	order = order[:0]
	src.u = 0.10
	for i := 0; i < 5 && len(order) == 0; i++ {
		step(ctl)
	}
	if len(order) < 2 || order[0] != "eks_replicas" || order[1] != "eks_nodes" {
		t.Errorf("down order %v, want eks_replicas before eks_nodes", order)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// memTarget holds its size in memory; while busy, Resize takes nothing.
type memTarget struct {
	n    int
	busy bool
}

func (m *memTarget) Size(context.Context) (int, error) { return m.n, nil }

func (m *memTarget) Resize(_ context.Context, n int) error {
	if m.busy {
		return ErrBusy
	}
	m.n = n
	return nil
}

// The cooldown counts from a change the loop sent (or, in a dry run, would have), even
// one a busy target did not take: that one is carried through at the next evaluations,
// and the load asks for nothing more until the cooldown ends.
func TestLoopCooldownStartsWhenTheChangeIsSent(t *testing.T) {
	cfg := policyConfig(func(c *Config) { c.Policy.UpSustain = 0 })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	onprem := &memTarget{n: 2, busy: true}
	ctl := NewController(cfg, &fixedSource{u: 0.85}, Targets{OnPrem: onprem, Nodes: &memTarget{}, EKSApp: &memTarget{}},
		false, log, prometheus.NewRegistry())
	clock := policyT0
	ctl.now = func() time.Time { return clock }
	step := func(ctl *Controller, want string) {
		t.Helper()
		clock = clock.Add(time.Minute)
		d, err := ctl.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(d.Reason.String(), want) {
			t.Fatalf("%s: %s, want %q", clock.Format(time.TimeOnly), d.Reason, want)
		}
	}
	step(ctl, "up: ")
	step(ctl, "up: completing the action of 08:01:00") // the busy target took nothing: the same again
	onprem.busy = false
	step(ctl, "up: completing the action of 08:01:00")
	if onprem.n != 4 {
		t.Fatalf("on-prem %d replicas, want 4", onprem.n)
	}
	step(ctl, "hold: cooldown, 120 s left")

	dry := NewController(cfg, &fixedSource{u: 0.85}, Targets{OnPrem: &memTarget{n: 2}, Nodes: &memTarget{}, EKSApp: &memTarget{}},
		true, log, prometheus.NewRegistry())
	dry.now = func() time.Time { return clock }
	step(dry, "up: ")
	step(dry, "hold: cooldown, 240 s left")
}

// The log line of a decision is the Reason's rendering, beside the sizes it asks for.
func TestLoopLogsTheReason(t *testing.T) {
	cfg := policyConfig(func(c *Config) { c.Policy.UpSustain = 0 })
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	ctl := NewController(cfg, &fixedSource{u: 0.85}, Targets{OnPrem: &memTarget{n: 2}, Nodes: &memTarget{}, EKSApp: &memTarget{}},
		false, log, prometheus.NewRegistry())
	clock := policyT0
	ctl.now = func() time.Time { return clock }
	for _, want := range []struct {
		reason, direction string
		onprem            int
	}{
		{"up: cpu 0.85 above 0.80 for 0s (memory 0.85), shedding 0.15; on-prem replicas 2→4 (spare)", "up", 4},
		{"hold: cooldown, 240 s left; cpu 0.85 above 0.80 for 1m0s (memory 0.85)", "hold", 4},
	} {
		buf.Reset()
		d, err := ctl.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
		var line struct {
			Msg, Reason, Direction string
			OnPrem                 int  `json:"onprem_replicas"`
			DryRun                 bool `json:"dry_run"`
		}
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if err := json.Unmarshal([]byte(l), &line); err != nil {
				t.Fatalf("log line %q: %v", l, err)
			}
			if line.Msg == "decision" {
				break
			}
		}
		if line.Msg != "decision" || line.Reason != want.reason || line.Reason != d.Reason.String() ||
			line.Direction != want.direction || line.OnPrem != want.onprem || line.DryRun {
			t.Errorf("logged %+v\nwant reason %q, direction %s, %d on-prem replicas", line, want.reason, want.direction, want.onprem)
		}
	}
}

// The status is the last evaluation's decision and the action the cooldown counts from.
func TestLoopStatus(t *testing.T) {
	cfg := policyConfig(func(c *Config) { c.Policy.UpSustain = 0 })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctl := NewController(cfg, &fixedSource{u: 0.85}, Targets{OnPrem: &memTarget{n: 2}, Nodes: &memTarget{}, EKSApp: &memTarget{}},
		false, log, prometheus.NewRegistry())
	clock := policyT0
	ctl.now = func() time.Time { return clock }
	if s, ok := ctl.Status(); ok {
		t.Errorf("status %+v before any evaluation", s)
	}
	for range 2 {
		if _, err := ctl.Step(t.Context()); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
	}
	s, ok := ctl.Status()
	if !ok || s.Decision.Direction != "hold" || !s.Decision.At.Equal(policyT0.Add(time.Minute)) ||
		!s.LastAction.Equal(policyT0) || s.LastDirection != "up" || s.DryRun {
		t.Fatalf("status %+v, ok %v: want the hold at 08:01 and the up at 08:00 as the last action", s, ok)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		DryRun        bool      `json:"dry_run"`
		LastAction    time.Time `json:"last_action"`
		LastDirection string    `json:"last_direction"`
		Decision      struct {
			Direction, Reason string
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.DryRun || !got.LastAction.Equal(policyT0) || got.LastDirection != "up" ||
		got.Decision.Direction != "hold" || got.Decision.Reason != s.Decision.Reason.String() {
		t.Errorf("status JSON %s", b)
	}
}
