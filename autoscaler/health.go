package autoscaler

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// TargetHealth is what the loop remembers of one target's failures (kept in the state
// file, so a restart does not hammer a failing cloud API).
type TargetHealth struct {
	// FailedTicks is how many evaluations in a row the target failed at (or was left
	// alone while backing off): /healthz fails once it reaches UnhealthyAfter.
	FailedTicks int `json:"failed_evaluations"`
	// Errors is how many failures in a row the backoff has doubled with.
	Errors    int    `json:"errors_in_a_row"`
	LastError string `json:"last_error,omitempty"`
	// BackoffUntil: after an error the target is neither read nor changed until then, and
	// holds its last known size, as Cluster Autoscaler backs off a failing node group.
	BackoffUntil time.Time `json:"backoff_until,omitzero"`
	// NoGrowUntil: the target may shrink but not grow until then (nodes that never
	// joined); NoGrowReason says why.
	NoGrowUntil  time.Time `json:"no_grow_until,omitzero"`
	NoGrowReason string    `json:"no_grow_reason,omitempty"`
}

// backoff is the wait after the current run of errors: ErrorBackoff doubled for each
// error after the first, at most MaxErrorBackoff.
func (h *TargetHealth) backoff(p Policy) time.Duration {
	d := p.ErrorBackoff.D()
	for i := 1; i < h.Errors && d < p.MaxErrorBackoff.D(); i++ {
		d *= 2
	}
	return min(d, p.MaxErrorBackoff.D())
}

// failed records an error at now and starts the backoff.
func (h *TargetHealth) failed(p Policy, now time.Time, err error) {
	h.Errors++
	h.LastError = err.Error()
	h.BackoffUntil = now.Add(h.backoff(p))
}

// healthOf returns the health kept for name, creating it.
func (c *Controller) healthOf(name string) *TargetHealth {
	if c.health == nil {
		c.health = map[string]*TargetHealth{}
	}
	h := c.health[name]
	if h == nil {
		h = &TargetHealth{}
		c.health[name] = h
	}
	return h
}

// endTick closes an evaluation's books: a target that failed at it (failed[name]) has one
// more failed evaluation in a row, one that did not starts afresh.
func (c *Controller) endTick(failed map[string]bool) {
	for _, name := range append(tierNames[:], namePrometheus) {
		h := c.healthOf(name)
		if failed[name] {
			h.FailedTicks++
		} else {
			h.FailedTicks, h.Errors, h.LastError = 0, 0, ""
		}
		c.metrics.failedTicks.WithLabelValues(name).Set(float64(h.FailedTicks))
	}
}

// Healthy returns nil while no target (nor Prometheus) has failed UnhealthyAfter
// evaluations in a row, and otherwise an error naming each that has, with its last
// error.
func (c *Controller) Healthy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bad []string
	for name, h := range c.healthView {
		if h.FailedTicks >= c.cfg.UnhealthyAfter {
			bad = append(bad, fmt.Sprintf("%s failed %d evaluations in a row: %s", name, h.FailedTicks, h.LastError))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%s", strings.Join(bad, "; "))
}
