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
type Controller struct {
	cfg     Config
	src     Source
	targets Targets
	dryRun  bool
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	state   State

	mu     sync.Mutex // guards status, which /status reads while Run writes it
	status Status
}

// Status is the last evaluation: its decision, and the last action the cooldown counts
// from.
type Status struct {
	DryRun        bool      `json:"dry_run"`
	Decision      Decision  `json:"decision"`
	LastAction    time.Time `json:"last_action,omitzero"`
	LastDirection string    `json:"last_direction,omitempty"`
}

// Status returns the last evaluation's status; ok is false until one has decided.
func (c *Controller) Status() (s Status, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, !c.status.Decision.At.IsZero()
}

// NewController builds a controller; reg receives its metrics.
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

// Step is one evaluation: read the targets' sizes (the daemon keeps no size of its own,
// so a restart starts from the truth), observe, decide, act.
func (c *Controller) Step(ctx context.Context) (Decision, error) {
	current, err := c.sizes(ctx)
	if err != nil {
		return Decision{}, err
	}
	c.state.Current = current
	obs, err := c.src.Observe(ctx)
	if err != nil {
		// Prometheus unreachable: every signal unknown, which never scales down.
		c.log.WarnContext(ctx, "observe", slog.Any("error", err))
		obs = Observations{At: c.now()}
	}
	c.metrics.observe(obs, current)
	now := c.now()
	d := Decide(c.cfg, obs, c.state, now)
	c.metrics.decided(d)
	c.log.InfoContext(ctx, "decision", slog.String("direction", d.Direction), slog.String("reason", d.Reason.String()),
		slog.Int("onprem_replicas", d.Want.OnPremReplicas), slog.Int("eks_nodes", d.Want.EKSNodes),
		slog.Int("eks_replicas", d.Want.EKSReplicas), slog.Bool("dry_run", c.dryRun))
	// A dry run counts its changes as sent, so its log shows the cooldowns the daemon
	// would keep. A busy or failing target took nothing (or not all): no cooldown starts,
	// and the next evaluation goes on from what the targets then say.
	sent := true
	var applyErr error
	if !c.dryRun && d.Want != current {
		sent, applyErr = c.apply(ctx, current, d.Want)
	}
	c.state = d.Next(sent)
	c.mu.Lock()
	c.status = Status{DryRun: c.dryRun, Decision: d, LastAction: c.state.LastAction, LastDirection: c.state.LastDirection}
	c.mu.Unlock()
	return d, applyErr
}

func (c *Controller) sizes(ctx context.Context) (Sizes, error) {
	var s Sizes
	var err error
	if s.OnPremReplicas, err = c.targets.OnPrem.Size(ctx); err != nil {
		c.metrics.targetErrors.WithLabelValues("onprem").Inc()
		return s, fmt.Errorf("on-prem replicas: %w", err)
	}
	if s.EKSNodes, err = c.targets.Nodes.Size(ctx); err != nil {
		c.metrics.targetErrors.WithLabelValues("eks_nodes").Inc()
		return s, fmt.Errorf("EKS node group: %w", err)
	}
	if s.EKSReplicas, err = c.targets.EKSApp.Size(ctx); err != nil {
		c.metrics.targetErrors.WithLabelValues("eks_replicas").Inc()
		return s, fmt.Errorf("EKS replicas: %w", err)
	}
	return s, nil
}

// apply changes the targets in a safe order: going up, on-prem first (the cheap tier), then
// nodes before the replicas that need them; going down, replicas before the nodes they
// run on, and on-prem last. A busy target stops the sequence; the next evaluation goes on
// from what the targets then say.
func (c *Controller) apply(ctx context.Context, from, to Sizes) (done bool, err error) {
	type step struct {
		name   string
		target Target
		from   int
		to     int
	}
	onprem := step{"onprem", c.targets.OnPrem, from.OnPremReplicas, to.OnPremReplicas}
	nodes := step{"eks_nodes", c.targets.Nodes, from.EKSNodes, to.EKSNodes}
	replicas := step{"eks_replicas", c.targets.EKSApp, from.EKSReplicas, to.EKSReplicas}
	order := []step{onprem, nodes, replicas}
	if to.EKSNodes < from.EKSNodes || to.EKSReplicas < from.EKSReplicas || to.OnPremReplicas < from.OnPremReplicas {
		order = []step{replicas, nodes, onprem}
	}
	for _, s := range order {
		if s.from == s.to {
			continue
		}
		err := s.target.Resize(ctx, s.to)
		switch {
		case errors.Is(err, ErrBusy):
			c.log.InfoContext(ctx, "target busy; next evaluation retries", slog.String("target", s.name))
			return false, nil
		case err != nil:
			c.metrics.targetErrors.WithLabelValues(s.name).Inc()
			return false, fmt.Errorf("resize %s %d→%d: %w", s.name, s.from, s.to, err)
		}
		c.log.InfoContext(ctx, "resized", slog.String("target", s.name), slog.Int("from", s.from), slog.Int("to", s.to))
	}
	return true, nil
}
