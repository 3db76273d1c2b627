package autoscaler

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Decide is the policy: from the config, one evaluation's observations, the remembered
// state and the time of the evaluation, it says which sizes to ask for and why. It is
// pure (no I/O, no clock, no randomness): the same inputs give the same Decision. It
// does not call Validate; it assumes a config that passes it, and only guards against
// dividing by zero.
//
// The rules, in the order they are applied:
//
//   - Utilisation u is max(CPU, Memory). When one of them is unknown (empty, NaN or
//     stale: the Source marks it), u is known only to be at least the known one. So
//     the known one alone may call for a scale-up when it is above UpThreshold (the
//     burst is then sized from it, a lower bound), but nothing else: with either signal
//     unknown, u is never "below" or "between", there is never a scale-down, and both
//     timers are cleared. A signal with Known false is unknown whatever its Value.
//   - Levels are strict: u > UpThreshold is above, u < DownThreshold is below, anything
//     in [DownThreshold, UpThreshold] is between (hysteresis: hold). AboveSince is set
//     when u is first seen above and kept while it stays above; BelowSince likewise;
//     every other level clears the timer. The timers describe the signal, not the
//     actions: an action does not reset them, the cooldown spaces the actions.
//   - Sustain: u must have been above for at least UpSustain (now-AboveSince >=
//     UpSustain) to scale up, below for at least DownSustain to scale down. A reversal
//     is thereby never quicker than the sustain of the new direction: after an up, u
//     was above, so BelowSince is later than the up and a down waits DownSustain.
//   - Cooldown: within Cooldown after LastAction (now-LastAction < Cooldown) the load
//     takes no action: "hold: cooldown, N s left".
//   - Scale up, tiers on-prem first: the on-prem utilisation to shed is u-Target. On-prem
//     replicas (the spare node) are added first, ceil(shed/OnPremReplicaShare) of them,
//     up to OnPrem.MaxReplicas. Only the part of the shed the on-prem tier cannot take
//     even at its maximum goes to EKS: ceil(rest/EKSNodeShare) nodes, and EKS replicas
//     raised to nodes×ReplicasPerNode. (So when the step limit keeps on-prem short of its
//     maximum in one action, EKS still gets only what on-prem could never hold.)
//   - Scale down, EKS first: the capacity to give back is Target-u, spent whole units
//     at a time (never more than it, so on-prem is estimated to stay at or under
//     Target): EKS nodes first (EKS replicas follow them down to nodes×ReplicasPerNode),
//     on-prem replicas only once EKS is at its lower bound. If not even one unit fits,
//     one unit is still given back when on-prem, estimated with that unit's share
//     added, stays under UpThreshold (otherwise a config whose shares are larger than
//     Target-DownThreshold would never give anything back); if it would not, hold.
//   - Step limits: one action moves a size by at most MaxStepNodes nodes or
//     MaxStepReplicas replicas (each size on its own).
//   - Schedule floor: from LeadTime before obs.NextWindow (inclusive) until
//     HoldAfterOpen after it (exclusive), with NextWindow non-zero and FloorNodes > 0
//     (once the window has opened the app's gauge names the next one, so the state's
//     FloorWindow keeps the opened window until HoldAfterOpen has passed),
//     EKS nodes are at least FloorNodes (clamped to EKS min/max) and EKS replicas at
//     least that times ReplicasPerNode (clamped to EKSApp min/max). Raising to the
//     floor is done regardless of cooldown, of unknown signals and of step limits:
//     the capacity must be there before the window opens. A scale-down never goes
//     under the floor, and while the floor is still being raised there is no
//     load-driven scale-down at all (the action is the floor's, an "up").
//   - Min/max clamps (OnPrem and EKSApp replicas, EKS nodes) are applied to Want always,
//     last, regardless of cooldown and signals: Want is always within the config. A
//     Current outside them (the config changed) is brought back in.
//
// Direction is "up" when any size grows, else "down" when any shrinks, else "hold"
// (a clamp that shrinks one size while the load grows another is "up"; the Reason
// lists every change). Reason is one line that starts with the Direction and a colon
// and gives the figures. Decide records no action: Decision.Next does, once the caller
// knows whether the change was sent.
func Decide(c Config, obs Observations, st State, now time.Time) Decision {
	p := c.Policy
	r := readUtil(p, obs)

	next := st
	switch r.level {
	case utilAbove:
		if next.AboveSince.IsZero() {
			next.AboveSince = now
		}
		next.BelowSince = time.Time{}
	case utilBelow:
		if next.BelowSince.IsZero() {
			next.BelowSince = now
		}
		next.AboveSince = time.Time{}
	default: // between, unknown
		next.AboveSince, next.BelowSince = time.Time{}, time.Time{}
	}
	var held time.Duration // how long u has been at its level
	switch r.level {
	case utilAbove:
		held = now.Sub(next.AboveSince)
	case utilBelow:
		held = now.Sub(next.BelowSince)
	}
	sustainedUp := r.level == utilAbove && held >= p.UpSustain.D()
	sustainedDown := r.level == utilBelow && held >= p.DownSustain.D()

	left := p.Cooldown.D() - now.Sub(st.LastAction)
	cooling := !st.LastAction.IsZero() && left > 0

	// The app's gauge names the next window still to open; once it opens, the floor is
	// held for the window remembered in the state.
	window := obs.NextWindow
	if !st.FloorWindow.IsZero() && now.Before(st.FloorWindow.Add(p.HoldAfterOpen.D())) &&
		(window.IsZero() || window.After(st.FloorWindow)) {
		window = st.FloorWindow
	}
	fl := schedFloorAt(c, window, now)
	next.FloorWindow = time.Time{}
	if fl.active {
		next.FloorWindow = window
	}

	base := c.bounds().clamp(st.Current)
	raisesFloor := fl.active && (base.EKSNodes < fl.nodes || base.EKSReplicas < fl.replicas)
	want := base
	acted := "" // the load's part of the reason, when it changed something
	var note string
	switch {
	case cooling:
	case sustainedUp:
		shed := r.u - p.Target
		want = burstUp(c, base, shed)
		if want != base {
			acted = fmt.Sprintf("%s, shedding %.2f", r.clause(p, held, 0), shed)
		} else {
			note = fmt.Sprintf("every tier at its maximum (on-prem %d/%d replicas, eks %d/%d nodes)",
				base.OnPremReplicas, c.OnPrem.MaxReplicas, base.EKSNodes, c.EKS.MaxNodes)
		}
	case sustainedDown && !raisesFloor:
		spare := p.Target - r.u
		var over bool
		want, over = burstDown(c, base, fl, spare, r.u)
		if want != base {
			acted = fmt.Sprintf("%s, giving back %.2f", r.clause(p, held, 0), spare)
		} else if over {
			note = "giving back one more unit would bring on-prem to the up threshold"
		} else {
			note = fmt.Sprintf("nothing to give back (on-prem %d replicas, min %d; eks %d nodes, min %d)",
				base.OnPremReplicas, c.OnPrem.MinReplicas, base.EKSNodes, fl.minNodes(c))
		}
	}

	floored := applySchedFloor(want, fl)
	floorActed := floored != want
	want = c.bounds().clamp(floored)
	boundsActed := base != st.Current

	dir := sizesDirection(st.Current, want)
	var parts []string
	if want == st.Current {
		if cooling {
			parts = append(parts, fmt.Sprintf("cooldown, %d s left", int(math.Ceil(left.Seconds()))))
		}
		var of time.Duration // the sustain not reached yet
		switch {
		case cooling:
		case r.level == utilAbove && !sustainedUp:
			of = p.UpSustain.D()
		case r.level == utilBelow && !sustainedDown:
			of = p.DownSustain.D()
		}
		parts = append(parts, r.clause(p, held, of))
		if note != "" {
			parts = append(parts, note)
		}
		if fl.active {
			parts = append(parts, fl.describe(window, now)+" held")
		}
	} else {
		if acted != "" {
			parts = append(parts, acted)
		}
		if floorActed {
			s := fl.describe(window, now)
			if cooling {
				s += fmt.Sprintf(", raised despite cooldown (%d s left)", int(math.Ceil(left.Seconds())))
			}
			parts = append(parts, s)
		}
		if boundsActed {
			parts = append(parts, "config bounds (min/max)")
		}
		if acted == "" {
			parts = append(parts, r.clause(p, held, 0))
		}
		parts = append(parts, sizesDiff(st.Current, want))
	}
	return Decision{
		Want:      want,
		Direction: dir,
		Reason:    dir + ": " + strings.Join(parts, "; "),
		at:        now,
		next:      next,
	}
}

// Next is the state to remember for the next evaluation: the timers and the floor window
// as this evaluation left them, Current as given (the caller sets what the targets then
// hold) and, when sent and Want changes a size, this evaluation as the last action. sent
// is whether the change was carried out; one a target did not take starts no cooldown,
// so the next evaluation tries again.
func (d Decision) Next(sent bool) State {
	s := d.next
	if sent && d.Want != s.Current {
		s.LastAction, s.LastDirection = d.at, d.Direction
	}
	return s
}

// policyEps absorbs float rounding when shares divide a shed: 0.20/0.10 is 2 units, not 3.
const policyEps = 1e-9

type utilLevel int

const (
	utilUnknown utilLevel = iota
	utilBelow
	utilBetween
	utilAbove
)

// utilReading is the utilisation as the policy sees it.
type utilReading struct {
	level utilLevel
	u     float64 // max(CPU, Memory), or the known one's value when the other is unknown and it is above
	name  string  // which signal u is
	other string  // the other signal, for the reason: "memory 0.60" or "memory unknown"
}

func readUtil(p Policy, obs Observations) utilReading {
	cpu, mem := obs.CPU, obs.Memory
	switch {
	case cpu.Known && mem.Known:
		r := utilReading{u: cpu.Value, name: "cpu", other: fmt.Sprintf("memory %.2f", mem.Value)}
		if mem.Value > cpu.Value {
			r = utilReading{u: mem.Value, name: "memory", other: fmt.Sprintf("cpu %.2f", cpu.Value)}
		}
		switch {
		case r.u > p.UpThreshold:
			r.level = utilAbove
		case r.u < p.DownThreshold:
			r.level = utilBelow
		default:
			r.level = utilBetween
		}
		return r
	case cpu.Known && cpu.Value > p.UpThreshold:
		return utilReading{level: utilAbove, u: cpu.Value, name: "cpu", other: "memory unknown"}
	case mem.Known && mem.Value > p.UpThreshold:
		return utilReading{level: utilAbove, u: mem.Value, name: "memory", other: "cpu unknown"}
	case cpu.Known:
		return utilReading{u: cpu.Value, name: "cpu", other: "memory unknown"}
	case mem.Known:
		return utilReading{u: mem.Value, name: "memory", other: "cpu unknown"}
	default:
		return utilReading{}
	}
}

// clause describes the utilReading at its level, e.g. "cpu 0.91 above 0.80 for 2m0s (memory
// 0.60)"; with of non-zero, "for 1m0s of 2m0s": the sustain not reached yet.
func (r utilReading) clause(p Policy, held, of time.Duration) string {
	dur := held.String()
	if of > 0 {
		dur += " of " + of.String()
	}
	switch r.level {
	case utilAbove:
		return fmt.Sprintf("%s %.2f above %.2f for %s (%s)", r.name, r.u, p.UpThreshold, dur, r.other)
	case utilBelow:
		return fmt.Sprintf("%s %.2f below %.2f for %s (%s)", r.name, r.u, p.DownThreshold, dur, r.other)
	case utilBetween:
		return fmt.Sprintf("%s %.2f between %.2f and %.2f (%s)", r.name, r.u, p.DownThreshold, p.UpThreshold, r.other)
	}
	if r.name == "" {
		return "cpu and memory unknown, no scale-down on unknown signals"
	}
	return fmt.Sprintf("%s, %s %.2f not above %.2f, no scale-down on unknown signals", r.other, r.name, r.u, p.UpThreshold)
}

// floor is the schedule floor at one instant.
type schedFloor struct {
	active          bool
	nodes, replicas int
}

func schedFloorAt(c Config, window time.Time, now time.Time) schedFloor {
	p := c.Policy
	if window.IsZero() || p.FloorNodes <= 0 {
		return schedFloor{}
	}
	from, until := window.Add(-p.LeadTime.D()), window.Add(p.HoldAfterOpen.D())
	if now.Before(from) || !now.Before(until) {
		return schedFloor{}
	}
	n := clamp(p.FloorNodes, c.EKS.MinNodes, c.EKS.MaxNodes)
	return schedFloor{active: true, nodes: n, replicas: clamp(n*p.ReplicasPerNode, c.EKSApp.MinReplicas, c.EKSApp.MaxReplicas)}
}

// minNodes is the lowest the EKS node group may go now.
func (f schedFloor) minNodes(c Config) int {
	if f.active {
		return max(c.EKS.MinNodes, f.nodes)
	}
	return c.EKS.MinNodes
}

// minReplicas is the lowest the EKS replicas may go now.
func (f schedFloor) minReplicas(c Config) int {
	if f.active {
		return max(c.EKSApp.MinReplicas, f.replicas)
	}
	return c.EKSApp.MinReplicas
}

func (f schedFloor) describe(window, now time.Time) string {
	when := "opens in " + window.Sub(now).String()
	if !now.Before(window) {
		when = "opened " + now.Sub(window).String() + " ago"
	}
	return fmt.Sprintf("schedule floor %d eks nodes, %d replicas (window %s)", f.nodes, f.replicas, when)
}

func applySchedFloor(s Sizes, f schedFloor) Sizes {
	if f.active {
		s.EKSNodes = max(s.EKSNodes, f.nodes)
		s.EKSReplicas = max(s.EKSReplicas, f.replicas)
	}
	return s
}

// burstUp adds capacity to shed the given on-prem utilisation, on-prem tier first.
func burstUp(c Config, cur Sizes, shed float64) Sizes {
	p := c.Policy
	w := cur
	room := max(c.OnPrem.MaxReplicas-cur.OnPremReplicas, 0)
	need := shareUnits(shed, p.OnPremReplicaShare)
	w.OnPremReplicas += min(need, room, p.MaxStepReplicas)
	if need > room { // the on-prem tier cannot hold it all even when full: the rest goes to EKS
		rest := shed - float64(room)*p.OnPremReplicaShare
		n := min(shareUnits(rest, p.EKSNodeShare), p.MaxStepNodes, c.EKS.MaxNodes-cur.EKSNodes)
		w.EKSNodes += max(n, 0)
	}
	// EKS replicas follow the nodes (never down in a scale-up).
	if r := clamp(w.EKSNodes*p.ReplicasPerNode, c.EKSApp.MinReplicas, c.EKSApp.MaxReplicas); r > cur.EKSReplicas {
		w.EKSReplicas += min(r-cur.EKSReplicas, p.MaxStepReplicas)
	}
	return w
}

// burstDown gives back at most spare of on-prem utilisation, EKS first, never under the
// minimums or the floor. over reports that nothing was given back because even one unit
// would bring on-prem to the up threshold.
func burstDown(c Config, cur Sizes, f schedFloor, spare, u float64) (w Sizes, over bool) {
	p := c.Policy
	w = cur
	minNodes, minRep := f.minNodes(c), f.minReplicas(c)
	budget := spare
	for n := 0; n < p.MaxStepNodes && w.EKSNodes > minNodes && budget >= p.EKSNodeShare-policyEps; n++ {
		w.EKSNodes--
		budget -= p.EKSNodeShare
	}
	eksRep := func() {
		// EKS replicas follow the nodes down (never up in a scale-down).
		if r := max(w.EKSNodes*p.ReplicasPerNode, minRep); r < w.EKSReplicas {
			w.EKSReplicas -= min(w.EKSReplicas-r, p.MaxStepReplicas)
		}
	}
	eksRep()
	eksDone := func() bool {
		return w.EKSNodes <= minNodes && w.EKSReplicas <= max(w.EKSNodes*p.ReplicasPerNode, minRep)
	}
	if eksDone() {
		for n := 0; n < p.MaxStepReplicas && w.OnPremReplicas > c.OnPrem.MinReplicas && budget >= p.OnPremReplicaShare-policyEps; n++ {
			w.OnPremReplicas--
			budget -= p.OnPremReplicaShare
		}
	}
	if w != cur || budget < spare {
		return w, false
	}
	// Not even one unit fits in the spare: give back one if on-prem stays under the up
	// threshold with its share added.
	switch {
	case cur.EKSNodes > minNodes && p.MaxStepNodes > 0:
		if u+p.EKSNodeShare >= p.UpThreshold {
			return cur, true
		}
		w.EKSNodes--
		eksRep()
	case eksDone() && cur.OnPremReplicas > c.OnPrem.MinReplicas && p.MaxStepReplicas > 0:
		if u+p.OnPremReplicaShare >= p.UpThreshold {
			return cur, true
		}
		w.OnPremReplicas--
	}
	return w, false
}

// shareUnits is how many units of the given share it takes to cover x: at least one.
func shareUnits(x, share float64) int {
	if share <= 0 {
		return 1
	}
	return max(int(math.Ceil(x/share-policyEps)), 1)
}

func sizesDirection(from, to Sizes) string {
	a := []int{from.OnPremReplicas, from.EKSNodes, from.EKSReplicas}
	b := []int{to.OnPremReplicas, to.EKSNodes, to.EKSReplicas}
	down := false
	for i := range a {
		if b[i] > a[i] {
			return "up"
		}
		if b[i] < a[i] {
			down = true
		}
	}
	if down {
		return "down"
	}
	return "hold"
}

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
