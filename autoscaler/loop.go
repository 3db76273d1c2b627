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

// Step is one evaluation: read the targets (each on its own), observe, reconcile the
// limits, decide, act, and keep the state.
func (c *Controller) Step(ctx context.Context) (Decision, error) {
	k := &tick{now: c.now(), current: c.known, failed: map[string]bool{}}
	const unlimited = 1 << 30
	k.limits.Max = Sizes{unlimited, unlimited, unlimited}
	c.readTiers(ctx, k)
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
	// An action some target has refused for longer than nodes may take to join is stale:
	// the load decides afresh rather than finishing what it asked for then.
	if st.Pending != nil && k.now.Sub(st.LastAction) > c.cfg.Policy.ProvisionTimeout.D() {
		c.log.WarnContext(ctx, "dropping an action not carried through within the provision timeout",
			slog.Time("decided", st.LastAction), slog.Any("pending", *st.Pending))
		st.Pending = nil
	}
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
