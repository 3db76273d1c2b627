package autoscaler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// The targets' names in the metrics, the logs, /status and the state file, in the order
// of tierOf; "prometheus" is the source.
const (
	nameOnPrem     = "onprem"
	nameNodes      = "eks_nodes"
	nameReplicas   = "eks_replicas"
	namePrometheus = "prometheus"
)

var tierNames = [3]string{nameOnPrem, nameNodes, nameReplicas}

// tierOf and setTier read and write a size by its tier's index in tierNames.
func tierOf(s Sizes, i int) int {
	return [3]int{s.OnPremReplicas, s.EKSNodes, s.EKSReplicas}[i]
}

func setTier(s *Sizes, i, n int) {
	switch i {
	case 0:
		s.OnPremReplicas = n
	case 1:
		s.EKSNodes = n
	case 2:
		s.EKSReplicas = n
	}
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

// readTiers reads every tier into k (see readTier). The targets are asked at once and
// each read is bounded by half the interval: a target that answers slowly (a throttled
// EKS API retrying, an Argo CD that hangs) is held at its last known size for this
// evaluation instead of delaying the others' decision (the hybrid drill's throttled
// node group held the on-prem decision for 6 s).
func (c *Controller) readTiers(ctx context.Context, k *tick) {
	rctx, cancel := context.WithTimeout(ctx, max(c.cfg.Interval.D()/2, 500*time.Millisecond))
	defer cancel()
	var reads [3]tierRead
	var wg sync.WaitGroup
	for i := range tierNames {
		if k.now.Before(c.healthOf(tierNames[i]).BackoffUntil) {
			reads[i].skipped = true
			continue
		}
		wg.Go(func() { reads[i] = c.fetchTier(rctx, i) })
	}
	wg.Wait()
	for i := range tierNames {
		c.readTier(ctx, k, i, reads[i])
	}
}

// tierRead is what one target answered.
type tierRead struct {
	info    TargetInfo
	err     error
	skipped bool // backing off: not asked
}

func (c *Controller) fetchTier(ctx context.Context, i int) tierRead {
	var r tierRead
	if d, ok := c.target(i).(Describer); ok {
		r.info, r.err = d.Describe(ctx)
	} else {
		r.info.Size, r.err = c.target(i).Size(ctx)
	}
	return r
}

// readTier records tier i's read in k: its size, its own limits and health, or, when it
// could not be read or is backing off, its last known size, held.
func (c *Controller) readTier(ctx context.Context, k *tick, i int, r tierRead) {
	name := tierNames[i]
	h := c.healthOf(name)
	if r.skipped {
		k.failed[name] = true
		k.hold(i, fmt.Sprintf("backing off until %s after: %s", h.BackoffUntil.Format(time.TimeOnly), h.LastError))
		return
	}
	info, err := r.info, r.err
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
