package autoscaler

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Reason is a decision with the facts Decide acted on. Decide only gathers them; String
// renders them as the log line and MarshalJSON as /status, so the two say the same and
// neither can say something the policy did not do.
type Reason struct {
	At        time.Time
	Direction string // "up", "down" or "hold"
	From      Sizes  // the sizes the evaluation started from
	Want      Sizes  // the sizes to ask for
	// Bounds are the limits in force: the config's, with the EKS minimums raised to the
	// schedule floor while it is active.
	Bounds      Bounds
	Utilisation Utilisation
	// CooldownLeft is how much longer the cooldown holds the load back; 0 when it does not.
	CooldownLeft time.Duration
	// Shed is the on-prem utilisation a load-driven scale-up sheds, GiveBack what a
	// load-driven scale-down gives back; 0 when the load changed no size.
	Shed, GiveBack float64
	// Stuck is why a sustained load changed no size; empty when it did or was not
	// sustained.
	Stuck Stuck
	Floor Floor
	// Clamped says From (or the pending action) was outside the bounds (the config
	// changed, or a target's own limits) and Want brings it back in.
	Clamped bool
	// Limits say how the targets narrowed the config's bounds at this evaluation.
	Limits []string
	// Completing is when the pending action this evaluation carries through was decided;
	// zero when none is pending.
	Completing time.Time
	// Filled says the EKS replicas were raised to fill the nodes asked for.
	Filled bool
}

// Utilisation is on-prem utilisation as the policy read it: u = max(CPU, Memory), or
// the known one when the other is unknown.
type Utilisation struct {
	Level  Level
	Signal string  // which signal Value is, "cpu" or "memory"; empty when both are unknown
	Value  float64 // u
	Other  string  // the other signal's name; empty when both are unknown
	// OtherValue is the other signal, unknown when it was.
	OtherValue Signal
	// Fast says u is the on-prem demand from the fast signals (Signal "demand"), above
	// CPU and memory, which then are Other.
	Fast bool
	// For is how long u has been at Level (above or below; 0 otherwise), Sustain how long
	// it must stay there for the load to act.
	For, Sustain time.Duration
	Up, Down     float64 // the thresholds
}

// Level is where u stands against the thresholds. Levels are strict: at a threshold is
// between.
type Level string

const (
	LevelUnknown Level = "unknown"
	LevelBelow   Level = "below"
	LevelBetween Level = "between"
	LevelAbove   Level = "above"
)

// Stuck is why a sustained load changed no size.
type Stuck string

const (
	StuckAtMaximum   Stuck = "every tier at its maximum"
	StuckAtMinimum   Stuck = "nothing to give back"
	StuckUpThreshold Stuck = "giving back one more unit would bring on-prem to the up threshold"
)

// Floor is the schedule floor at a decision.
type Floor struct {
	Active bool
	// Window is the opening the floor is held for; zero when the floor is not active.
	Window                time.Time
	EKSNodes, EKSReplicas int
	// Raised says the floor, not the load, raised a size.
	Raised bool
}

// String is the log line: the direction, a colon, then the facts that made it. A hold
// says what held it (cooldown, sustain not reached, a tier at its bound, the floor held);
// a change says what drove it (the load, the floor, the config's bounds) and every size
// it changes.
func (r Reason) String() string {
	var parts []string
	if r.Want == r.From {
		if r.CooldownLeft > 0 {
			parts = append(parts, fmt.Sprintf("cooldown, %d s left", ceilSeconds(r.CooldownLeft)))
		}
		// Under a cooldown the sustain is not what holds.
		parts = append(parts, r.Utilisation.clause(r.CooldownLeft == 0))
		if r.Stuck != "" {
			parts = append(parts, r.stuck())
		}
		if r.Floor.Active {
			parts = append(parts, r.Floor.describe(r.At)+" held")
		}
		if r.Stuck != "" && len(r.Limits) > 0 {
			parts = append(parts, "limits: "+strings.Join(r.Limits, ", "))
		}
		return r.Direction + ": " + strings.Join(parts, "; ")
	}
	if !r.Completing.IsZero() {
		parts = append(parts, "completing the action of "+r.Completing.Format(time.TimeOnly))
	}
	load := ""
	switch {
	case r.Shed > 0:
		load = fmt.Sprintf("%s, shedding %.2f", r.Utilisation.clause(false), r.Shed)
	case r.GiveBack > 0:
		load = fmt.Sprintf("%s, giving back %.2f", r.Utilisation.clause(false), r.GiveBack)
	}
	if load != "" {
		parts = append(parts, load)
	}
	if r.Floor.Raised {
		s := r.Floor.describe(r.At)
		if r.CooldownLeft > 0 {
			s += fmt.Sprintf(", raised despite cooldown (%d s left)", ceilSeconds(r.CooldownLeft))
		}
		parts = append(parts, s)
	}
	if r.Clamped {
		if len(r.Limits) > 0 {
			parts = append(parts, "bounds (min/max; limits: "+strings.Join(r.Limits, ", ")+")")
		} else {
			parts = append(parts, "config bounds (min/max)")
		}
	}
	if r.Filled {
		parts = append(parts, "eks replicas fill the nodes asked for")
	}
	if load == "" {
		parts = append(parts, r.Utilisation.clause(false))
	}
	parts = append(parts, sizesDiff(r.From, r.Want))
	return r.Direction + ": " + strings.Join(parts, "; ")
}

func (r Reason) stuck() string {
	switch r.Stuck {
	case StuckAtMaximum:
		return fmt.Sprintf("%s (on-prem %d/%d replicas, eks %d/%d nodes)", r.Stuck,
			r.From.OnPremReplicas, r.Bounds.Max.OnPremReplicas, r.From.EKSNodes, r.Bounds.Max.EKSNodes)
	case StuckAtMinimum:
		return fmt.Sprintf("%s (on-prem %d replicas, min %d; eks %d nodes, min %d)", r.Stuck,
			r.From.OnPremReplicas, r.Bounds.Min.OnPremReplicas, r.From.EKSNodes, r.Bounds.Min.EKSNodes)
	}
	return string(r.Stuck)
}

// clause describes u at its level, e.g. "cpu 0.91 above 0.80 for 2m0s (memory 0.60)";
// with pending, a sustain not reached yet shows as "for 1m0s of 2m0s".
func (u Utilisation) clause(pending bool) string {
	dur := u.For.String()
	if pending && u.For < u.Sustain {
		dur += " of " + u.Sustain.String()
	}
	other := u.Other + " unknown"
	if u.OtherValue.Known {
		other = fmt.Sprintf("%s %.2f", u.Other, u.OtherValue.Value)
	}
	switch u.Level {
	case LevelAbove:
		return fmt.Sprintf("%s %.2f above %.2f for %s (%s)", u.Signal, u.Value, u.Up, dur, other)
	case LevelBelow:
		return fmt.Sprintf("%s %.2f below %.2f for %s (%s)", u.Signal, u.Value, u.Down, dur, other)
	case LevelBetween:
		return fmt.Sprintf("%s %.2f between %.2f and %.2f (%s)", u.Signal, u.Value, u.Down, u.Up, other)
	}
	if u.Signal == "" {
		return "cpu and memory unknown, no scale-down on unknown signals"
	}
	return fmt.Sprintf("%s, %s %.2f not above %.2f, no scale-down on unknown signals", other, u.Signal, u.Value, u.Up)
}

func (f Floor) describe(now time.Time) string {
	when := "opens in " + f.Window.Sub(now).String()
	if !now.Before(f.Window) {
		when = "opened " + now.Sub(f.Window).String() + " ago"
	}
	return fmt.Sprintf("schedule floor %d eks nodes, %d replicas (window %s)", f.EKSNodes, f.EKSReplicas, when)
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }

func sizesDiff(from, to Sizes) string {
	var d []string
	if from.OnPremReplicas != to.OnPremReplicas {
		d = append(d, fmt.Sprintf("on-prem replicas %d→%d (spare)", from.OnPremReplicas, to.OnPremReplicas))
	}
	if from.EKSNodes != to.EKSNodes {
		d = append(d, fmt.Sprintf("eks nodes %d→%d", from.EKSNodes, to.EKSNodes))
	}
	if from.EKSReplicas != to.EKSReplicas {
		d = append(d, fmt.Sprintf("eks replicas %d→%d", from.EKSReplicas, to.EKSReplicas))
	}
	return strings.Join(d, ", ")
}

// MarshalJSON is the /status view: the same facts, durations in seconds, unknown
// values as null, and the log line as "reason".
func (r Reason) MarshalJSON() ([]byte, error) {
	type utilisation struct {
		Level          Level    `json:"level"`
		Signal         string   `json:"signal,omitempty"`
		Value          *float64 `json:"value"`
		Other          string   `json:"other_signal,omitempty"`
		OtherValue     *float64 `json:"other_value"`
		ForSeconds     float64  `json:"for_seconds"`
		SustainSeconds float64  `json:"sustain_seconds"`
		Up             float64  `json:"up_threshold"`
		Down           float64  `json:"down_threshold"`
	}
	type floor struct {
		Window      time.Time `json:"window"`
		EKSNodes    int       `json:"eks_nodes"`
		EKSReplicas int       `json:"eks_replicas"`
		Raised      bool      `json:"raised"`
	}
	u := r.Utilisation
	v := struct {
		At                  time.Time   `json:"at"`
		Direction           string      `json:"direction"`
		Reason              string      `json:"reason"`
		From                Sizes       `json:"from"`
		Want                Sizes       `json:"want"`
		Bounds              Bounds      `json:"bounds"`
		Utilisation         utilisation `json:"utilisation"`
		CooldownLeftSeconds float64     `json:"cooldown_left_seconds"`
		Shed                float64     `json:"shed,omitempty"`
		GiveBack            float64     `json:"give_back,omitempty"`
		Stuck               Stuck       `json:"stuck,omitempty"`
		Floor               *floor      `json:"schedule_floor,omitempty"`
		Clamped             bool        `json:"clamped_to_bounds"`
		Limits              []string    `json:"limits,omitempty"`
		Completing          *time.Time  `json:"completing_action_of,omitempty"`
		Filled              bool        `json:"filled_nodes,omitempty"`
	}{
		At: r.At, Direction: r.Direction, Reason: r.String(), From: r.From, Want: r.Want, Bounds: r.Bounds,
		Utilisation: utilisation{Level: u.Level, Signal: u.Signal, Other: u.Other,
			ForSeconds: u.For.Seconds(), SustainSeconds: u.Sustain.Seconds(), Up: u.Up, Down: u.Down},
		CooldownLeftSeconds: r.CooldownLeft.Seconds(),
		Shed:                r.Shed, GiveBack: r.GiveBack, Stuck: r.Stuck, Clamped: r.Clamped,
		Limits: r.Limits, Filled: r.Filled,
	}
	if !r.Completing.IsZero() {
		v.Completing = &r.Completing
	}
	if u.Signal != "" {
		v.Utilisation.Value = &u.Value
	}
	if u.OtherValue.Known {
		v.Utilisation.OtherValue = &u.OtherValue.Value
	}
	if r.Floor.Active {
		v.Floor = &floor{Window: r.Floor.Window, EKSNodes: r.Floor.EKSNodes, EKSReplicas: r.Floor.EKSReplicas, Raised: r.Floor.Raised}
	}
	return json.Marshal(v)
}
