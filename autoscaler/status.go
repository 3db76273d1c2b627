package autoscaler

import "time"

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

// publish makes the evaluation visible to /status and /healthz.
func (c *Controller) publish(k *tick, obs Observations, d Decision) {
	st := Status{DryRun: c.dryRun, Decision: d, Signals: obs.signals(), LastAction: c.state.LastAction,
		LastDirection: c.state.LastDirection, Pending: c.state.Pending}
	for i, name := range tierNames {
		st.Tiers = append(st.Tiers, TierStatus{Target: name, Actual: tierOf(k.current, i), Read: k.read[i],
			Desired: tierOf(d.Want, i), Min: tierOf(d.Bounds.Min, i), Max: tierOf(d.Bounds.Max, i),
			Holding: k.held[i], TargetHealth: *c.healthOf(name)})
	}
	c.mu.Lock()
	c.status = st
	c.mu.Unlock()
	c.publishHealth()
}

// publishHealth copies the targets' health for /healthz, which reads it while Run writes.
func (c *Controller) publishHealth() {
	view := map[string]TargetHealth{}
	for name, h := range c.health {
		view[name] = *h
	}
	c.mu.Lock()
	c.healthView = view
	c.mu.Unlock()
}
