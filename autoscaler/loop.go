package autoscaler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Targets are the three capacities, tier by tier.
type Targets struct {
	OnPrem Target // tier 1: the on-prem Application's replicas (the spare node)
	Nodes  Target // tier 2: the EKS node group
	EKSApp Target // the app's replicas on EKS
}

// Controller evaluates the policy every interval and carries out its decisions.
//
// Each tier is read and changed on its own: a target that fails (or is busy, or backing
// off after errors) holds its last known size while the others go on, and after
// UnhealthyAfter failed evaluations in a row Healthy says which. Every evaluation also
// reconciles: the node group's own min/max and health, the ready EKS nodes (the replicas
// never exceed what they hold; nodes that do not join within the provision timeout are
// given up) and an action the daemon stopped in the middle of.
type Controller struct {
	cfg     Config
	src     Source
	targets Targets
	dryRun  bool
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time

	// Run's alone: what the state file keeps.
	state           State
	known           Sizes // the last size each target reported or took
	health          map[string]*TargetHealth
	nodesShortSince time.Time

	mu         sync.Mutex // guards status and healthView, which /status and /healthz read while Run writes them
	status     Status
	healthView map[string]TargetHealth
}

// Status is the last evaluation: its decision, the signals, each tier, and the last
// action the cooldown counts from.
type Status struct {
	DryRun        bool           `json:"dry_run"`
	Decision      Decision       `json:"decision"`
	Signals       map[string]any `json:"signals,omitempty"`
	Tiers         []TierStatus   `json:"tiers,omitempty"`
	LastAction    time.Time      `json:"last_action,omitzero"`
	LastDirection string         `json:"last_direction,omitempty"`
	Pending       *Sizes         `json:"pending,omitempty"`
}

// TierStatus is one target at an evaluation.
type TierStatus struct {
	Target string `json:"target"`
	// Actual is the size the target reported, or its last known size when it could not
	// be read (Read false).
	Actual  int  `json:"actual"`
	Read    bool `json:"read"`
	Desired int  `json:"desired"`
	Min     int  `json:"min"`
	Max     int  `json:"max"`
	// Holding is why the tier was held at its size, empty when it was free to move.
	Holding string `json:"holding,omitempty"`
	TargetHealth
}

// Status returns the last evaluation's status; ok is false until one has decided.
func (c *Controller) Status() (s Status, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, !c.status.Decision.At.IsZero()
}

// NewController builds a controller; reg receives its metrics. LoadState restores what
// the state file kept.
func NewController(cfg Config, src Source, t Targets, dryRun bool, log *slog.Logger, reg prometheus.Registerer) *Controller {
	return &Controller{cfg: cfg, src: src, targets: t, dryRun: dryRun, log: log, metrics: newMetrics(reg), now: time.Now}
}

// Run evaluates every interval until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Interval.D())
	defer t.Stop()
	for {
		if _, err := c.Step(ctx); err != nil && ctx.Err() == nil {
			c.log.WarnContext(ctx, "autoscaler evaluation", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (c *Controller) target(i int) Target {
	return [3]Target{c.targets.OnPrem, c.targets.Nodes, c.targets.EKSApp}[i]
}

// tick is one evaluation's view of the tiers.
type tick struct {
	now     time.Time
	current Sizes
	limits  Bounds
	notes   []string
	held    [3]string // why each tier is pinned at its size (busy, failing, backing off)
	read    [3]bool
	failed  map[string]bool
	errs    []error
}

func (k *tick) note(format string, args ...any) {
	k.notes = append(k.notes, fmt.Sprintf(format, args...))
}

// hold pins tier i at its size for this evaluation.
func (k *tick) hold(i int, why string) {
	n := tierOf(k.current, i)
	setTier(&k.limits.Min, i, n)
	setTier(&k.limits.Max, i, n)
	k.held[i] = why
	k.note("%s held at %d: %s", tierNames[i], n, why)
}

// Step is one evaluation: read the targets (each on its own), observe, reconcile the
// limits, decide, act, and keep the state.
func (c *Controller) Step(ctx context.Context) (Decision, error) {
	k := &tick{now: c.now(), current: c.known, failed: map[string]bool{}}
	const unlimited = 1 << 30
	k.limits.Max = Sizes{unlimited, unlimited, unlimited}
	for i := range tierNames {
		c.readTier(ctx, k, i)
	}
	if ctx.Err() != nil {
		return Decision{}, ctx.Err()
	}
	obs, err := c.src.Observe(ctx)
	if err != nil {
		// Prometheus unreachable: every signal unknown, which never scales down.
		c.log.WarnContext(ctx, "observe", slog.Any("error", err))
		c.healthOf(namePrometheus).LastError = err.Error()
		k.failed[namePrometheus] = true
		obs = Observations{At: k.now}
	}
	c.reconcileNodes(k, obs)
	obs.Limits, obs.LimitNotes = &k.limits, k.notes
	c.metrics.observe(obs, k.current)

	st := c.state
	st.Current = k.current
	d := Decide(c.cfg, obs, st, k.now)
	c.metrics.decided(d)
	c.log.InfoContext(ctx, "decision", slog.String("direction", d.Direction), slog.String("reason", d.Reason.String()),
		slog.Int("onprem_replicas", d.Want.OnPremReplicas), slog.Int("eks_nodes", d.Want.EKSNodes),
		slog.Int("eks_replicas", d.Want.EKSReplicas), slog.Any("limits", k.notes), slog.Bool("dry_run", c.dryRun))

	// An action counts as sent whether or not every target took it (a busy Argo CD may
	// refuse the sync after the patch landed): the cooldown starts, and what is left is
	// carried through as Pending at the next evaluations instead of the load asking again.
	next := d.Next(true)
	if !c.dryRun && (d.Want != k.current || st.Pending != nil) {
		pending := d.Want
		next.Pending = &pending
		if err := c.saveState(next); err != nil { // the intent first: a crash from here on is repaired
			k.errs = append(k.errs, err)
		}
		complete := c.apply(ctx, k, d.Want, st.Pending != nil)
		// A pinned tier keeps its part of the pending action for later.
		for i, why := range k.held {
			if why != "" && st.Pending != nil && tierOf(*st.Pending, i) != tierOf(k.current, i) {
				setTier(next.Pending, i, tierOf(*st.Pending, i))
				complete = false
			}
		}
		if complete {
			next.Pending = nil
		}
	}
	next.Current = c.known
	c.state = next
	c.endTick(k.failed)
	if err := c.saveState(next); err != nil {
		k.errs = append(k.errs, err)
	}
	c.publish(k, obs, d)
	return d, errors.Join(k.errs...)
}

// readTier reads tier i into k: its size, its own limits and health, or, when it cannot
// be read or is backing off, its last known size, held.
func (c *Controller) readTier(ctx context.Context, k *tick, i int) {
	name := tierNames[i]
	h := c.healthOf(name)
	if k.now.Before(h.BackoffUntil) {
		k.failed[name] = true
		k.hold(i, fmt.Sprintf("backing off until %s after: %s", h.BackoffUntil.Format(time.TimeOnly), h.LastError))
		return
	}
	var info TargetInfo
	var err error
	if d, ok := c.target(i).(Describer); ok {
		info, err = d.Describe(ctx)
	} else {
		info.Size, err = c.target(i).Size(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		c.metrics.targetErrors.WithLabelValues(name).Inc()
		h.failed(c.cfg.Policy, k.now, err)
		k.failed[name] = true
		k.errs = append(k.errs, fmt.Errorf("read %s: %w", name, err))
		k.hold(i, "cannot be read: "+err.Error())
		return
	}
	k.read[i] = true
	setTier(&k.current, i, info.Size)
	setTier(&c.known, i, info.Size)
	if info.Limited {
		setTier(&k.limits.Min, i, info.Min)
		setTier(&k.limits.Max, i, info.Max)
		k.note("%s: the target's own limits %d..%d", name, info.Min, info.Max)
	}
	switch {
	case info.Busy:
		k.hold(i, "busy with another change")
	case info.Issue != "":
		setTier(&k.limits.Max, i, min(tierOf(k.limits.Max, i), info.Size))
		k.note("%s not grown: %s", name, info.Issue)
	}
	if k.now.Before(h.NoGrowUntil) {
		setTier(&k.limits.Max, i, min(tierOf(k.limits.Max, i), info.Size))
		k.note("%s not grown until %s: %s", name, h.NoGrowUntil.Format(time.TimeOnly), h.NoGrowReason)
	}
}

// reconcileNodes caps the EKS replicas at what the ready nodes hold and gives up on
// nodes that have not become ready within the provision timeout.
func (c *Controller) reconcileNodes(k *tick, obs Observations) {
	p := c.cfg.Policy
	if !obs.ReadyNodes.Known {
		k.limits.Max.EKSReplicas = min(k.limits.Max.EKSReplicas, k.current.EKSReplicas)
		k.note("eks_replicas not raised: ready EKS nodes unknown")
		return
	}
	ready := max(int(obs.ReadyNodes.Value), 0)
	if hold := ready * p.ReplicasPerNode; hold < c.cfg.EKSApp.MaxReplicas {
		k.limits.Max.EKSReplicas = min(k.limits.Max.EKSReplicas, hold)
		k.note("eks_replicas at most %d, what %d ready nodes hold", hold, ready)
	}
	if !k.read[1] || ready >= k.current.EKSNodes {
		c.nodesShortSince = time.Time{}
		return
	}
	if c.nodesShortSince.IsZero() {
		c.nodesShortSince = k.now
	}
	if k.now.Sub(c.nodesShortSince) < p.ProvisionTimeout.D() {
		// The utilisation does not show the nodes on their way yet: asking for more on
		// top of them would count the same shortfall twice.
		k.limits.Max.EKSNodes = min(k.limits.Max.EKSNodes, k.current.EKSNodes)
		k.note("eks_nodes not grown while %d of %d are still joining", k.current.EKSNodes-ready, k.current.EKSNodes)
		return
	}
	h := c.healthOf(nameNodes)
	h.Errors++
	h.NoGrowReason = fmt.Sprintf("%d of %d nodes did not become ready within %s", k.current.EKSNodes-ready, k.current.EKSNodes, p.ProvisionTimeout.D())
	h.NoGrowUntil = k.now.Add(h.backoff(p))
	k.limits.Max.EKSNodes = min(k.limits.Max.EKSNodes, ready)
	k.note("eks_nodes given up to the %d ready: %s", ready, h.NoGrowReason)
	c.log.Warn("EKS nodes did not join in time; giving them up", slog.String("reason", h.NoGrowReason),
		slog.Time("no_grow_until", h.NoGrowUntil))
	c.nodesShortSince = time.Time{}
}

// apply changes the targets in a safe order: going up, on-prem first (the cheap tier), then
// nodes before the replicas that need them; going down, replicas before the nodes they
// run on, and on-prem last. A held tier is skipped; a busy or failing one does not stop
// the others, except that nodes are not taken away while the replicas on them could not
// be lowered. With again, every tier is asked even at its size, so that a change a
// target took only in part (an Argo CD patch whose sync was refused) is finished. It
// returns whether every tier took its part.
func (c *Controller) apply(ctx context.Context, k *tick, to Sizes, again bool) (complete bool) {
	from := k.current
	var order []int
	if to.EKSReplicas < from.EKSReplicas {
		order = append(order, 2)
	}
	if to.OnPremReplicas > from.OnPremReplicas {
		order = append(order, 0)
	}
	order = append(order, 1)
	if to.EKSReplicas >= from.EKSReplicas {
		order = append(order, 2)
	}
	if to.OnPremReplicas <= from.OnPremReplicas {
		order = append(order, 0)
	}
	complete = true
	for _, i := range order {
		name, f, t := tierNames[i], tierOf(from, i), tierOf(to, i)
		if k.held[i] != "" {
			complete = complete && f == t
			continue
		}
		if f == t && !again {
			continue
		}
		if i == 1 && t < f && !complete {
			c.log.InfoContext(ctx, "EKS nodes kept until the replicas on them are lowered", slog.Int("from", f), slog.Int("to", t))
			continue
		}
		err := c.target(i).Resize(ctx, t)
		switch {
		case errors.Is(err, ErrBusy):
			c.log.InfoContext(ctx, "target busy; the next evaluation carries the change through", slog.String("target", name), slog.Any("error", err))
			complete = false
			continue
		case err != nil:
			if ctx.Err() != nil {
				return false
			}
			c.metrics.targetErrors.WithLabelValues(name).Inc()
			c.healthOf(name).failed(c.cfg.Policy, k.now, err)
			k.failed[name] = true
			k.errs = append(k.errs, fmt.Errorf("resize %s %d→%d: %w", name, f, t, err))
			complete = false
			continue
		}
		setTier(&c.known, i, t)
		if f != t {
			c.log.InfoContext(ctx, "resized", slog.String("target", name), slog.Int("from", f), slog.Int("to", t))
		}
	}
	return complete
}

// publish makes the evaluation visible to /status and /healthz.
func (c *Controller) publish(k *tick, obs Observations, d Decision) {
	st := Status{DryRun: c.dryRun, Decision: d, Signals: obs.signals(), LastAction: c.state.LastAction,
		LastDirection: c.state.LastDirection, Pending: c.state.Pending}
	for i, name := range tierNames {
		st.Tiers = append(st.Tiers, TierStatus{Target: name, Actual: tierOf(k.current, i), Read: k.read[i],
			Desired: tierOf(d.Want, i), Min: tierOf(d.Bounds.Min, i), Max: tierOf(d.Bounds.Max, i),
			Holding: k.held[i], TargetHealth: *c.healthOf(name)})
	}
	view := map[string]TargetHealth{}
	for name, h := range c.health {
		view[name] = *h
	}
	c.mu.Lock()
	c.status, c.healthView = st, view
	c.mu.Unlock()
}
