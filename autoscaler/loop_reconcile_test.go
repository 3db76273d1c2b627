package autoscaler

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// reconcileConfig is a config for the loop tests against the fakes: on-prem 2..4
// replicas, EKS 0..10 nodes of 2 replicas, 0..20 EKS replicas, a 5-minute cooldown and
// no sustain, so every evaluation of a high load may act when the cooldown allows.
func reconcileConfig() Config {
	c := Defaults()
	c.Interval = Duration(time.Minute)
	c.Policy.UpSustain, c.Policy.DownSustain = 0, Duration(15*time.Minute)
	c.EKS = EKSConfig{Region: "eu-west-1", Cluster: "school", Nodegroup: "burst", MinNodes: 0, MaxNodes: 10}
	c.OnPrem = ArgoCDConfig{Application: "school", MinReplicas: 2, MaxReplicas: 4, Source: "kustomize"}
	c.EKSApp = ArgoCDConfig{Application: "school", MinReplicas: 0, MaxReplicas: 20, Source: "kustomize"}
	return c
}

// eksNoReplicas is the EKS Application before any burst.
const eksNoReplicas = `{"kustomize": {"replicas": [{"name": "school", "count": 0}]}}`

// loopClock is the policy's clock for a controller, moved one interval per evaluation.
type loopClock struct {
	t   *testing.T
	now time.Time
}

func newLoopClock(t *testing.T) *loopClock {
	return &loopClock{t: t, now: time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)}
}

func (c *loopClock) controller(cfg Config, src Source, tg Targets, reg prometheus.Registerer) *Controller {
	ctl := NewController(cfg, src, tg, false, slog.New(slog.DiscardHandler), reg)
	ctl.now = func() time.Time { return c.now }
	return ctl
}

// step runs one evaluation a minute after the last; errors are the targets' and are
// returned, not fatal.
func (c *loopClock) step(ctl *Controller) (Decision, error) {
	c.t.Helper()
	c.now = c.now.Add(time.Minute)
	return ctl.Step(c.t.Context())
}

// Argo CD refuses the sync after the patch landed ("another operation is already in
// progress"): the change counts as made, the cooldown starts, the sync is sent again at
// the next evaluation, and the load does not ask for more inside the cooldown (before,
// the node group went 0→2→4→5 under one cooldown).
func TestLoopBusySyncCountsAsActed(t *testing.T) {
	eks, nodes, _ := newEKSTest(t, func(c *EKSConfig) { c.MaxNodes = 10 })
	eks.mu.Lock()
	eks.min, eks.desired = 0, 0
	eks.mu.Unlock()
	onF, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 4 })
	_, eksApp, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })
	onF.failNext("sync", argoFault{status: 400, inProgress: true}, argoFault{status: 400, inProgress: true})
	clock := newLoopClock(t)
	ctl := clock.controller(reconcileConfig(), &fixedSource{u: 0.85, ready: readyAsDesired(eks)},
		Targets{OnPrem: onprem, Nodes: nodes, EKSApp: eksApp}, prometheus.NewRegistry())

	d, err := clock.step(ctl)
	if err != nil || d.Direction != "up" || d.Want.OnPremReplicas != 4 || d.Want.EKSNodes != 0 {
		t.Fatalf("first evaluation: %s (%v), want on-prem 2→4 only", d.Reason, err)
	}
	if n, _ := onprem.Size(t.Context()); n != 4 {
		t.Fatalf("on-prem spec holds %d replicas, want the patched 4", n)
	}
	for i := range 3 { // inside the 5-minute cooldown
		d, err := clock.step(ctl)
		if err != nil {
			t.Fatalf("evaluation %d: %v", i+2, err)
		}
		if d.Want.EKSNodes != 0 || !strings.Contains(d.Reason.String(), "cooldown") && d.Direction != "up" {
			t.Fatalf("evaluation %d inside the cooldown: %s", i+2, d.Reason)
		}
	}
	if u := eks.updates(); len(u) != 0 {
		t.Errorf("the node group was asked %d times inside the cooldown", len(u))
	}
	syncs, deployed := onF.counts()
	if syncs != 1 || len(deployed) != 1 {
		t.Errorf("on-prem: %d syncs accepted, want the refused one carried through once", syncs)
	}
	if s, _ := ctl.Status(); s.Pending != nil || !s.LastAction.Equal(time.Date(2027, 2, 15, 9, 1, 0, 0, time.UTC)) {
		t.Errorf("status: pending %v, last action %s; want nothing pending and the action of 09:01", s.Pending, s.LastAction)
	}
}

// With no AWS credentials every EKS call fails: the on-prem tier still scales, the node
// group is backed off (not called at every evaluation), a metric counts its failed
// evaluations and Healthy fails once there are UnhealthyAfter of them.
func TestLoopFailingEKSDoesNotStopOnPrem(t *testing.T) {
	eks, nodes, _ := newEKSTest(t, nil)
	for range 20 {
		eks.failNext("describe", eksFakeFault{status: 403, code: "UnrecognizedClientException"})
	}
	_, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 4 })
	_, eksApp, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })
	cfg := reconcileConfig()
	cfg.Policy.ErrorBackoff, cfg.Policy.MaxErrorBackoff = Duration(2*time.Minute), Duration(10*time.Minute)
	reg := prometheus.NewRegistry()
	clock := newLoopClock(t)
	ctl := clock.controller(cfg, &fixedSource{u: 0.99, ready: func() int { return 0 }},
		Targets{OnPrem: onprem, Nodes: nodes, EKSApp: eksApp}, reg)

	d, err := clock.step(ctl)
	if err == nil || !strings.Contains(err.Error(), "eks_nodes") {
		t.Errorf("first evaluation's error %v, want the node group's", err)
	}
	if d.Want.OnPremReplicas != 4 {
		t.Fatalf("on-prem wanted %d (%s), want 4 while EKS fails", d.Want.OnPremReplicas, d.Reason)
	}
	if n, _ := onprem.Size(t.Context()); n != 4 {
		t.Errorf("on-prem %d replicas, want 4", n)
	}
	if err := ctl.Healthy(); err != nil {
		t.Errorf("unhealthy after one failed evaluation: %v", err)
	}
	for range cfg.UnhealthyAfter - 1 {
		clock.step(ctl)
	}
	err = ctl.Healthy()
	if err == nil || !strings.Contains(err.Error(), "eks_nodes failed 3 evaluations in a row") || !strings.Contains(err.Error(), "UnrecognizedClientException") {
		t.Errorf("Healthy after %d failed evaluations: %v", cfg.UnhealthyAfter, err)
	}
	if got := gaugeValues(t, reg, "autoscaler_target_failed_evaluations"); got["eks_nodes"] != 3 || got["onprem"] != 0 ||
		got["eks_replicas"] != 0 || got["prometheus"] != 0 {
		t.Errorf("autoscaler_target_failed_evaluations %v, want 3 for eks_nodes only", got)
	}
	// 3 evaluations a minute apart under a 2-minute backoff: the node group was read at
	// the first and the third only (each read is the SDK call, not retried: 403).
	_, _, reqs := eks.snapshot()
	if len(reqs) != 2 {
		t.Errorf("%d EKS calls in 3 evaluations, want 2 (backing off in between)", len(reqs))
	}
	s, _ := ctl.Status()
	if s.Tiers[1].Target != "eks_nodes" || s.Tiers[1].Read || s.Tiers[1].LastError == "" || s.Tiers[0].Actual != 4 {
		t.Errorf("status tiers %+v", s.Tiers)
	}
}

// The node group's own maxSize (5, under the config's 10) and its health come into the
// policy: no desired size above it is ever sent, no phantom change is logged at it, the
// EKS replicas stop at what its nodes hold, and a DEGRADED group is not grown.
func TestLoopKeepsToTheNodegroupLimits(t *testing.T) {
	eks, nodes, _ := newEKSTest(t, func(c *EKSConfig) { c.MaxNodes = 10 })
	eks.mu.Lock()
	eks.min, eks.max, eks.desired = 0, 5, 0
	eks.mu.Unlock()
	_, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 2 })
	_, eksApp, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })
	cfg := reconcileConfig()
	cfg.OnPrem.MaxReplicas = 2
	cfg.Policy.Cooldown, cfg.Policy.MaxStepNodes = Duration(time.Minute), 10
	clock := newLoopClock(t)
	ctl := clock.controller(cfg, &fixedSource{u: 1.5, ready: readyAsDesired(eks)},
		Targets{OnPrem: onprem, Nodes: nodes, EKSApp: eksApp}, prometheus.NewRegistry())
	var last Decision
	for i := range 6 {
		d, err := clock.step(ctl)
		if err != nil {
			t.Fatalf("evaluation %d: %v", i+1, err)
		}
		if d.Want.EKSNodes > 5 || d.Want.EKSReplicas > 10 {
			t.Fatalf("evaluation %d wants %+v beyond the node group's 5 nodes: %s", i+1, d.Want, d.Reason)
		}
		last = d
	}
	if last.Direction != "hold" || last.Stuck != StuckAtMaximum || last.Want.EKSNodes != 5 || last.Want.EKSReplicas != 10 {
		t.Errorf("at the node group's maximum: %s, want a hold at 5 nodes, 10 replicas", last.Reason)
	}
	if !strings.Contains(last.Reason.String(), "the target's own limits 0..5") {
		t.Errorf("the hold does not name the node group's limit: %s", last.Reason)
	}
	for _, u := range eks.updates() {
		if u.status != 200 || *u.desired > 5 {
			t.Errorf("update asked %d, answered %d", *u.desired, u.status)
		}
	}

	// DEGRADED: the node group may shrink, never grow.
	eks.mu.Lock()
	eks.max, eks.desired = 8, 2
	eks.mu.Unlock()
	eks.setStatus("DEGRADED", 1000)
	clock.now = clock.now.Add(time.Hour)
	n := len(eks.updates())
	for range 3 {
		d, _ := clock.step(ctl)
		if d.Want.EKSNodes > 2 {
			t.Fatalf("a DEGRADED node group grown: %s", d.Reason)
		}
	}
	if len(eks.updates()) != n {
		t.Errorf("a DEGRADED node group was sent an update")
	}
}

// The EKS replicas never exceed what the ready nodes hold: with 4 nodes asked for and 1
// ready, 2 replicas; as the nodes join, the replicas follow whatever the cooldown.
func TestLoopReplicasFollowReadyNodes(t *testing.T) {
	eks, nodes, _ := newEKSTest(t, nil)
	eks.mu.Lock()
	eks.min, eks.desired = 0, 4
	eks.mu.Unlock()
	appF, eksApp, _ := newArgoTest(t, eksNoReplicas,
		func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })
	_, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 4 })
	ready := 1
	clock := newLoopClock(t)
	ctl := clock.controller(reconcileConfig(), &fixedSource{u: 0.70, ready: func() int { return ready }},
		Targets{OnPrem: onprem, Nodes: nodes, EKSApp: eksApp}, prometheus.NewRegistry())
	d, err := clock.step(ctl)
	if err != nil || d.Want.EKSReplicas != 2 {
		t.Fatalf("%s (%v): want 2 replicas on the 1 ready node", d.Reason, err)
	}
	ready = 4
	d, err = clock.step(ctl)
	if err != nil || d.Want.EKSReplicas != 8 || !d.Filled {
		t.Fatalf("%s (%v): want the replicas to fill the 4 ready nodes", d.Reason, err)
	}
	if n, _ := eksApp.Size(t.Context()); n != 8 {
		t.Errorf("EKS application %d replicas, want 8", n)
	}
	if syncs, _ := appF.counts(); syncs != 2 {
		t.Errorf("%d syncs, want 2", syncs)
	}
}

// crashOnResize stands for a daemon killed while it changes a target: the change is never
// sent and nothing after it runs.
type crashOnResize struct{ Target }

type crash struct{}

func (crashOnResize) Resize(context.Context, int) error { panic(crash{}) }

// Killed after on-prem took its change but before the node group's: the restarted daemon
// reads the state file and finishes the action at its first evaluation (inside the
// cooldown the action started, so it asks for nothing more).
func TestLoopRepairsACrashBetweenTwoActions(t *testing.T) {
	eks, nodes, _ := newEKSTest(t, nil)
	eks.mu.Lock()
	eks.min, eks.desired = 0, 0
	eks.mu.Unlock()
	_, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 4 })
	_, eksApp, _ := newArgoTest(t, eksNoReplicas, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })
	cfg := reconcileConfig()
	cfg.StateFile = filepath.Join(t.TempDir(), "state.json")
	src := &fixedSource{u: 1.0, ready: readyAsDesired(eks)}
	clock := newLoopClock(t)
	first := clock.controller(cfg, src, Targets{OnPrem: onprem, Nodes: crashOnResize{nodes}, EKSApp: eksApp}, prometheus.NewRegistry())
	func() {
		defer func() {
			if r := recover(); r != (crash{}) {
				panic(r)
			}
		}()
		clock.step(first)
		t.Fatal("the first daemon did not reach the node group")
	}()
	if n, _ := onprem.Size(t.Context()); n != 4 {
		t.Fatalf("on-prem %d replicas before the crash, want 4", n)
	}
	if len(eks.updates()) != 0 {
		t.Fatal("the node group changed before the crash")
	}

	second := clock.controller(cfg, src, Targets{OnPrem: onprem, Nodes: nodes, EKSApp: eksApp}, prometheus.NewRegistry())
	if err := second.LoadState(); err != nil {
		t.Fatal(err)
	}
	d, err := clock.step(second)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Reason.String(), "completing the action of 09:01:00") || d.Want.EKSNodes == 0 {
		t.Fatalf("after the restart: %s, want the interrupted action completed", d.Reason)
	}
	u := eks.updates()
	if len(u) != 1 || *u[0].desired != d.Want.EKSNodes {
		t.Fatalf("node group updates %+v, want one to %d", u, d.Want.EKSNodes)
	}
	d, _ = clock.step(second) // the nodes are ready: the replicas fill them, nothing more
	if d.Want.EKSNodes != u[0].desiredOr(0) || d.Want.EKSReplicas != d.Want.EKSNodes*2 || len(eks.updates()) != 1 {
		t.Errorf("next evaluation: %s, want the replicas to fill the nodes and no new node group change", d.Reason)
	}
}

func (r eksFakeRequest) desiredOr(n int) int {
	if r.desired == nil {
		return n
	}
	return *r.desired
}

// The cooldown, the sustain timers and the schedule floor's window survive a restart.
func TestLoopStateSurvivesARestart(t *testing.T) {
	cfg := policyConfig(func(c *Config) {
		c.Interval = Duration(time.Minute)
		c.Policy.UpSustain = Duration(2 * time.Minute)
		c.StateFile = filepath.Join(t.TempDir(), "state.json")
	})
	onprem := &memTarget{n: 2}
	tg := Targets{OnPrem: onprem, Nodes: &memTarget{}, EKSApp: &memTarget{}}
	src := &fixedSource{u: 0.85, ready: func() int { return 0 }}
	clock := newLoopClock(t)
	a := clock.controller(cfg, src, tg, prometheus.NewRegistry())
	for range 3 {
		if _, err := clock.step(a); err != nil {
			t.Fatal(err)
		}
	}
	if onprem.n != 4 {
		t.Fatalf("on-prem %d, want 4 after the up-sustain", onprem.n)
	}
	b := clock.controller(cfg, src, tg, prometheus.NewRegistry())
	if err := b.LoadState(); err != nil {
		t.Fatal(err)
	}
	d, err := clock.step(b)
	if err != nil || !strings.HasPrefix(d.Reason.String(), "hold: cooldown, 240 s left; cpu 0.85 above 0.80 for 3m0s") {
		t.Errorf("after a restart: %s (%v), want the cooldown and the sustain timer kept", d.Reason, err)
	}
	raw, err := os.ReadFile(cfg.StateFile)
	if err != nil {
		t.Fatal(err)
	}
	var saved savedState
	if err := json.Unmarshal(raw, &saved); err != nil || saved.State.LastDirection != "up" || saved.Known.OnPremReplicas != 4 {
		t.Errorf("state file %s (%v)", raw, err)
	}

	// After a long stop the timers restart (only delaying an action); the cooldown,
	// long over, is nothing to keep.
	clock.now = clock.now.Add(time.Hour)
	c := clock.controller(cfg, src, tg, prometheus.NewRegistry())
	if err := c.LoadState(); err != nil {
		t.Fatal(err)
	}
	if d, _ := clock.step(c); !strings.Contains(d.Reason.String(), "for 0s of 2m0s") {
		t.Errorf("after an hour's stop: %s, want the sustain timer restarted", d.Reason)
	}
}

// Nodes that never become ready are given up after the provision timeout: the node
// group goes back to its ready nodes and is not grown again for the backoff.
func TestLoopGivesUpNodesThatNeverJoin(t *testing.T) {
	eks, nodes, _ := newEKSTest(t, nil)
	eks.mu.Lock()
	eks.min, eks.desired = 0, 0
	eks.mu.Unlock()
	_, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 2 })
	_, eksApp, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 0, 20 })
	cfg := reconcileConfig()
	cfg.OnPrem.MaxReplicas = 2
	cfg.Policy.Cooldown, cfg.Policy.ProvisionTimeout = Duration(time.Minute), Duration(3*time.Minute)
	cfg.Policy.ErrorBackoff = Duration(10 * time.Minute)
	clock := newLoopClock(t)
	ctl := clock.controller(cfg, &fixedSource{u: 0.95, ready: func() int { return 0 }},
		Targets{OnPrem: onprem, Nodes: nodes, EKSApp: eksApp}, prometheus.NewRegistry())
	var gaveUp Decision
	for range 8 {
		d, err := clock.step(ctl)
		if err != nil {
			t.Fatal(err)
		}
		if d.Direction == "down" {
			gaveUp = d
		}
		if d.Want.EKSReplicas != 0 {
			t.Fatalf("replicas asked for with no node ready: %s", d.Reason)
		}
	}
	var asked []int
	for _, u := range eks.updates() {
		asked = append(asked, *u.desired)
	}
	if len(asked) != 2 || asked[0] == 0 || asked[1] != 0 {
		t.Fatalf("node group asked %v, want one rise and then back to 0 after the provision timeout", asked)
	}
	if !strings.Contains(gaveUp.Reason.String(), "did not become ready within 3m0s") {
		t.Errorf("the give-up says: %s", gaveUp.Reason)
	}
}

// gaugeValues gathers a gauge vector with one label from reg, by the label's value.
func gaugeValues(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
		}
	}
	return out
}

// A change a target refuses for longer than the provision timeout is dropped, and the load
// decides afresh.
func TestLoopDropsAStalePendingAction(t *testing.T) {
	cfg := policyConfig(func(c *Config) {
		c.Policy.UpSustain, c.Policy.ProvisionTimeout = 0, Duration(3*time.Minute)
	})
	onprem := &memTarget{n: 2, busy: true}
	src := &fixedSource{u: 0.85, ready: func() int { return 0 }}
	clock := newLoopClock(t)
	ctl := clock.controller(cfg, src, Targets{OnPrem: onprem, Nodes: &memTarget{}, EKSApp: &memTarget{}}, prometheus.NewRegistry())
	for range 3 {
		clock.step(ctl)
	}
	if s, _ := ctl.Status(); s.Pending == nil || s.Pending.OnPremReplicas != 4 {
		t.Fatalf("pending %v while the target is busy, want on-prem 4", s.Pending)
	}
	src.u = 0.60 // the rush is over
	clock.step(ctl)
	d, _ := clock.step(ctl)
	if s, _ := ctl.Status(); s.Pending != nil || d.Direction != "hold" {
		t.Errorf("after the provision timeout: pending %v, %s; want it dropped and a hold", s.Pending, d.Reason)
	}
}

// hangingTarget answers nothing until its context ends, as a throttled API that keeps
// retrying or a server that stopped answering.
type hangingTarget struct{ asked atomic.Int64 }

func (h *hangingTarget) Size(ctx context.Context) (int, error) {
	h.asked.Add(1)
	<-ctx.Done()
	return 0, ctx.Err()
}

func (h *hangingTarget) Resize(ctx context.Context, _ int) error {
	<-ctx.Done()
	return ctx.Err()
}

// A target that does not answer holds only its own tier: the evaluation reads every
// target within half an interval, and on-prem still scales in the same evaluation (in
// the hybrid drill a throttled node group held the on-prem decision for 6 s).
func TestLoopSlowTargetDoesNotDelayTheOthers(t *testing.T) {
	cfg := reconcileConfig()
	cfg.Interval = Duration(2 * time.Second) // reads bounded by 1 s
	_, onprem, _ := newArgoTest(t, kustomizeSource, func(c *ArgoCDConfig) { c.MinReplicas, c.MaxReplicas = 2, 4 })
	nodes := &hangingTarget{}
	clock := newLoopClock(t)
	ctl := clock.controller(cfg, &fixedSource{u: 0.99, ready: func() int { return 0 }},
		Targets{OnPrem: onprem, Nodes: nodes, EKSApp: &memTarget{}}, prometheus.NewRegistry())
	// Without the bound the evaluation never returns: go test's timeout fails it.
	d, _ := clock.step(ctl)
	if nodes.asked.Load() == 0 {
		t.Fatal("the node group was never asked: the test proves nothing")
	}
	if n, _ := onprem.Size(t.Context()); n != 4 || d.Want.OnPremReplicas != 4 {
		t.Errorf("on-prem %d replicas (wanted %d: %s), want 4 in the same evaluation", n, d.Want.OnPremReplicas, d.Reason)
	}
	s, _ := ctl.Status()
	if s.Tiers[1].Read || s.Tiers[1].LastError == "" {
		t.Errorf("the silent node group's status %+v, want unread with its error", s.Tiers[1])
	}
}
