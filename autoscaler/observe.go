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
	// NextWindow is when the next registration window opens (the app's gauge); zero
	// when unknown or none is planned.
	NextWindow time.Time
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

// State is what the policy remembers between evaluations. All of it can be rebuilt: the
// sizes from the targets, the timers start afresh after a restart (which only delays the
// next action, never causes one).
type State struct {
	Current Sizes
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
}
