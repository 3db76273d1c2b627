// Package autoscaler is the burst controller: it reads on-prem load from Prometheus and,
// when on-prem capacity runs out, grows first the spare on-prem capacity (an Argo CD
// Application's replicas), then an AWS EKS managed node group and the app's replicas on
// EKS; it shrinks them again when load falls. The decision is a pure function (Decide);
// the rest gathers its inputs and carries out its outputs.
package autoscaler

import "time"

// Signal is one observed value. An empty, NaN or stale query result is unknown, never
// zero: an outage of the metrics must not look like an idle school.
type Signal struct {
	Value float64
	Known bool
}

// Known returns a known signal.
func Known(v float64) Signal { return Signal{Value: v, Known: true} }

// Observations are the signals at one evaluation.
type Observations struct {
	At          time.Time
	CPU         Signal // on-prem node CPU utilisation, 0 to 1
	Memory      Signal // on-prem node memory utilisation, 0 to 1
	WaitingRoom Signal // students waiting in the app's waiting room
	RequestRate Signal // the app's requests per second
	// InFlight is the requests nginx has in flight to the app, every tier together;
	// ArrivalRate the students joining the waiting room per second. With WaitingRoom
	// they are the fast signals: they move within seconds of a rush, where CPU rates lag
	// by their window and stop at 1.
	InFlight    Signal
	ArrivalRate Signal
	// NextWindow is when the next registration window opens (the app's gauge); zero
	// when unknown or none is planned.
	NextWindow time.Time
	// ReadyNodes is how many EKS nodes are Ready in the cluster: the EKS replicas are
	// never asked for more than these hold.
	ReadyNodes Signal
	// Limits are what the targets themselves allow at this evaluation (the node group's
	// own min/max, the replicas the ready nodes hold, a failing or backed-off tier held
	// at its size), within which the config's bounds apply; nil means the config's
	// alone. LimitNotes say why, one line per tier the targets limit.
	Limits     *Bounds
	LimitNotes []string
}

// Sizes are the capacities the daemon controls.
type Sizes struct {
	OnPremReplicas int `json:"onprem_replicas"` // replicas of the on-prem Argo CD Application (tier 1: the spare node)
	EKSNodes       int `json:"eks_nodes"`       // desired size of the EKS managed node group (tier 2)
	EKSReplicas    int `json:"eks_replicas"`    // replicas of the EKS Argo CD Application
}

// Bounds are the lowest and highest each size may be.
type Bounds struct {
	Min Sizes `json:"min"`
	Max Sizes `json:"max"`
}

// within is b narrowed to the limits l: the higher minimum and the lower maximum of each
// size (where they cross, clamp lets the maximum win).
func (b Bounds) within(l Bounds) Bounds {
	return Bounds{
		Min: Sizes{OnPremReplicas: max(b.Min.OnPremReplicas, l.Min.OnPremReplicas), EKSNodes: max(b.Min.EKSNodes, l.Min.EKSNodes),
			EKSReplicas: max(b.Min.EKSReplicas, l.Min.EKSReplicas)},
		Max: Sizes{OnPremReplicas: min(b.Max.OnPremReplicas, l.Max.OnPremReplicas), EKSNodes: min(b.Max.EKSNodes, l.Max.EKSNodes),
			EKSReplicas: min(b.Max.EKSReplicas, l.Max.EKSReplicas)},
	}
}

func (b Bounds) clamp(s Sizes) Sizes {
	return Sizes{
		OnPremReplicas: clamp(s.OnPremReplicas, b.Min.OnPremReplicas, b.Max.OnPremReplicas),
		EKSNodes:       clamp(s.EKSNodes, b.Min.EKSNodes, b.Max.EKSNodes),
		EKSReplicas:    clamp(s.EKSReplicas, b.Min.EKSReplicas, b.Max.EKSReplicas),
	}
}

// clamp returns n within [lo, hi]; when the limits cross, hi wins, so a maximum is
// never exceeded.
func clamp(n, lo, hi int) int {
	return min(max(n, lo), hi)
}

// State is what the policy remembers between evaluations. The loop keeps it in its state
// file, so a restart keeps the cooldown, the timers, the floor and an unfinished action;
// without the file the sizes come from the targets and the timers start afresh (which
// only delays the next action, never causes one).
type State struct {
	Current Sizes
	// Pending is the sizes of the last action while some target has not taken all of it
	// (busy, failing, or the daemon stopped between two targets): the next evaluations
	// carry it through, cooldown or not, and act from it rather than from Current.
	Pending *Sizes `json:",omitempty"`
	// AboveSince is when utilisation went above the up-threshold and stayed there; zero
	// when it is not above. BelowSince likewise for the down-threshold.
	AboveSince, BelowSince time.Time
	// LastAction is when the last change was sent and LastDirection which way it went:
	// the cooldown counts from it, Simulate counts reversals against it. Decision.Next
	// is the only writer, so the loop and Simulate cannot keep it differently.
	LastAction    time.Time
	LastDirection string
	// FloorWindow is the opening of the window whose schedule floor is in force, kept
	// through HoldAfterOpen after the app's gauge has moved on to the next window.
	FloorWindow time.Time
}

// Decision is one evaluation's answer: Want and Direction, with the facts behind them
// (Reason), and the state to carry to the next evaluation (Next).
type Decision struct {
	Reason
	next State // as Next(false)
	// fresh says Want goes beyond the pending action: a new action, which starts a
	// cooldown; carrying a pending one through does not.
	fresh bool
}

// signals is the observations as /status shows them: unknown ones as null.
func (o Observations) signals() map[string]any {
	m := map[string]any{}
	for name, s := range map[string]Signal{"cpu": o.CPU, "memory": o.Memory, "waiting_room": o.WaitingRoom,
		"request_rate": o.RequestRate, "ready_nodes": o.ReadyNodes, "in_flight": o.InFlight, "arrival_rate": o.ArrivalRate} {
		if s.Known {
			m[name] = s.Value
		} else {
			m[name] = nil
		}
	}
	if !o.NextWindow.IsZero() {
		m["next_window"] = o.NextWindow
	}
	return m
}
