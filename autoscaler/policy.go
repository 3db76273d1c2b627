package autoscaler

import (
	"math"
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
//   - Fast demand: with InFlightPerReplica set and obs.InFlight known, the on-prem demand
//     (in flight, plus the waiting room and its arrivals, less what the ready EKS
//     replicas take, over the on-prem slots; see fastDemand) replaces u when it is
//     higher, uncapped, with FastSustain as its up-sustain. It never makes u lower and
//     never makes it "below" on its own: a scale-down still waits for CPU and memory.
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
//     last, regardless of cooldown and signals: Want is always within the config and
//     within obs.Limits, what the targets allow now (the node group's own min/max, the
//     replicas its ready nodes hold, a failing tier held at its size). A Current outside
//     them is brought back in.
//   - Pending: when st.Pending is set (an action some target has not taken all of), the
//     evaluation starts from it instead of Current, so it is carried through whatever
//     the cooldown, and only a change beyond it is a new action (Decision.Next).
//   - Fill: unless the load is giving capacity back, the EKS replicas are raised to
//     fill the nodes asked for (nodes×ReplicasPerNode, within the limits and the step),
//     whatever the cooldown; this alone is no new action.
//
// Direction is "up" when any size grows, else "down" when any shrinks, else "hold"
// (a clamp that shrinks one size while the load grows another is "up"; the Reason
// lists every change). Decide only gathers the facts into the Reason; rendering them
// (Reason.String for the log line, Reason.MarshalJSON for /status) is not its concern.
// Decide records no action: Decision.Next does, once the caller knows whether the
// change was sent.
func Decide(c Config, obs Observations, st State, now time.Time) Decision {
	p := c.Policy
	next := st
	u := readUtil(p, obs, st.Current)
	u.For = next.track(u.Level, now)
	sustained := (u.Level == LevelAbove || u.Level == LevelBelow) && u.For >= u.Sustain

	var cooldownLeft time.Duration
	if !st.LastAction.IsZero() {
		cooldownLeft = max(p.Cooldown.D()-now.Sub(st.LastAction), 0)
	}

	// The app's gauge names the next window still to open; once it opens, the floor is
	// held for the window remembered in the state.
	window := obs.NextWindow
	if !st.FloorWindow.IsZero() && now.Before(st.FloorWindow.Add(p.HoldAfterOpen.D())) &&
		(window.IsZero() || window.After(st.FloorWindow)) {
		window = st.FloorWindow
	}
	bounds := c.bounds()
	fl := scheduleFloor(p, bounds, window, now)
	next.FloorWindow = fl.Window
	if obs.Limits != nil {
		bounds = bounds.within(*obs.Limits)
	}

	r := Reason{At: now, From: st.Current, Bounds: fl.raise(bounds), Utilisation: u, CooldownLeft: cooldownLeft, Floor: fl,
		Limits: obs.LimitNotes}
	start := st.Current
	if st.Pending != nil {
		start, r.Completing = *st.Pending, st.LastAction
	}
	base := bounds.clamp(start)
	want := base
	switch {
	case cooldownLeft > 0 || !sustained:
	case u.Level == LevelAbove:
		shed := u.Value - p.Target
		// Within the config's bounds, not the floor's: the floor is applied after, on its
		// own, so the Reason tells the load's part from the floor's.
		if want = burstUp(p, bounds, base, shed); want != base {
			r.Shed = shed
		} else {
			r.Stuck = StuckAtMaximum
		}
	case u.Level == LevelBelow && !fl.raises(base): // while the floor is being raised, the action is the floor's
		spare := p.Target - u.Value
		var over bool
		want, over = burstDown(p, r.Bounds, base, spare, u.Value)
		switch {
		case want != base:
			r.GiveBack = spare
		case over:
			r.Stuck = StuckUpThreshold
		default:
			r.Stuck = StuckAtMinimum
		}
	}

	floored := fl.apply(want)
	r.Floor.Raised = floored != want
	floored = bounds.clamp(floored)
	// Filling the nodes below only carries out what was decided before: no new cooldown.
	fresh := floored != base || (st.Pending == nil && floored != st.Current)
	// Nodes without the app are paid for and serve nothing: the EKS replicas fill the
	// nodes asked for, as far as the ready ones hold them, whatever the cooldown, unless
	// the load is giving capacity back. This also finishes an up the daemon stopped in
	// the middle of. It keeps to the step limit.
	if r.GiveBack == 0 {
		f := clamp(floored.EKSNodes*p.ReplicasPerNode, bounds.Min.EKSReplicas, bounds.Max.EKSReplicas)
		if f = min(f, base.EKSReplicas+p.MaxStepReplicas); f > floored.EKSReplicas {
			floored.EKSReplicas, r.Filled = f, true
		}
	}
	r.Want = floored
	r.Clamped = base != start
	r.Direction = sizesDirection(st.Current, r.Want)
	return Decision{Reason: r, next: next, fresh: fresh}
}

// Next is the state to remember for the next evaluation: the timers and the floor window
// as this evaluation left them, Current and Pending as given (the caller sets what the
// targets then hold and what is left to do) and, when sent and Want is a new action (not
// only the pending one carried through), this evaluation as the last action. sent is
// whether the change was asked for: the loop counts an action a target refused as busy
// as sent, so the cooldown starts and the pending part is carried through instead of the
// load asking again.
func (d Decision) Next(sent bool) State {
	s := d.next
	if sent && d.fresh {
		s.LastAction, s.LastDirection = d.At, d.Direction
	}
	return s
}

// policyEps absorbs float rounding when shares divide a shed: 0.20/0.10 is 2 units, not 3.
const policyEps = 1e-9

// fastDemand is the on-prem demand from the fast signals, as a utilisation of the
// on-prem replicas' slots (see Policy.InFlightPerReplica); ok is false when they are off
// or the requests in flight are unknown.
func fastDemand(p Policy, obs Observations, cur Sizes) (u float64, ok bool) {
	if p.InFlightPerReplica <= 0 || !obs.InFlight.Known || cur.OnPremReplicas <= 0 {
		return 0, false
	}
	demand := obs.InFlight.Value
	if obs.WaitingRoom.Known && p.WaitingPerSlot > 0 {
		demand += obs.WaitingRoom.Value / p.WaitingPerSlot
	}
	if obs.ArrivalRate.Known {
		demand += obs.ArrivalRate.Value * p.ArrivalSlotSeconds
	}
	eks := cur.EKSReplicas
	if obs.ReadyNodes.Known {
		eks = min(eks, int(obs.ReadyNodes.Value)*p.ReplicasPerNode)
	} else {
		eks = 0 // no EKS replica is known to serve
	}
	slots := float64(p.InFlightPerReplica)
	return max(demand-float64(eks)*slots, 0) / (float64(cur.OnPremReplicas) * slots), true
}

// readUtil reads u from the signals; For is left to the caller, which keeps the timers.
func readUtil(p Policy, obs Observations, cur Sizes) Utilisation {
	u := readSlowUtil(p, obs)
	f, ok := fastDemand(p, obs, cur)
	// The fast demand only ever raises u: it calls for capacity sooner and sizes the
	// step, but a scale-down still waits for CPU and memory, and unknown demand holds
	// nothing back.
	if !ok || (u.Signal != "" && f <= u.Value) || (u.Level == LevelUnknown && f <= p.UpThreshold) {
		return u
	}
	slow := u
	u = Utilisation{Level: LevelBetween, Signal: "demand", Value: f, Fast: true, Up: p.UpThreshold, Down: p.DownThreshold,
		Other: "cpu/memory", OtherValue: Known(slow.Value)}
	if slow.Signal != "" {
		u.Other = slow.Signal
	}
	if slow.Signal == "" || slow.Level == LevelUnknown {
		u.OtherValue = Signal{}
	}
	switch {
	case f > p.UpThreshold:
		u.Level, u.Sustain = LevelAbove, p.FastSustain.D()
	case f < p.DownThreshold && slow.Level == LevelBelow:
		u.Level, u.Sustain = LevelBelow, p.DownSustain.D()
	}
	return u
}

// readSlowUtil reads u from CPU and memory.
func readSlowUtil(p Policy, obs Observations) Utilisation {
	cpu, mem := obs.CPU, obs.Memory
	u := Utilisation{Level: LevelUnknown, Up: p.UpThreshold, Down: p.DownThreshold}
	switch {
	case cpu.Known && mem.Known:
		u.Signal, u.Value, u.Other, u.OtherValue = "cpu", cpu.Value, "memory", mem
		if mem.Value > cpu.Value {
			u.Signal, u.Value, u.Other, u.OtherValue = "memory", mem.Value, "cpu", cpu
		}
		switch {
		case u.Value > p.UpThreshold:
			u.Level = LevelAbove
		case u.Value < p.DownThreshold:
			u.Level = LevelBelow
		default:
			u.Level = LevelBetween
		}
	case cpu.Known:
		u.Signal, u.Value, u.Other = "cpu", cpu.Value, "memory"
	case mem.Known:
		u.Signal, u.Value, u.Other = "memory", mem.Value, "cpu"
	}
	// With the other signal unknown, u is only known to be at least this one: enough to
	// call it above, never below or between.
	if u.Level == LevelUnknown && u.Signal != "" && u.Value > p.UpThreshold {
		u.Level = LevelAbove
	}
	switch u.Level {
	case LevelAbove:
		u.Sustain = p.UpSustain.D()
	case LevelBelow:
		u.Sustain = p.DownSustain.D()
	}
	return u
}

// track moves the sustain timers to the level u is at now and returns how long it has
// been there. The timers describe the signal, not the actions: an action does not reset
// them.
func (s *State) track(l Level, now time.Time) time.Duration {
	switch l {
	case LevelAbove:
		if s.AboveSince.IsZero() {
			s.AboveSince = now
		}
		s.BelowSince = time.Time{}
		return now.Sub(s.AboveSince)
	case LevelBelow:
		if s.BelowSince.IsZero() {
			s.BelowSince = now
		}
		s.AboveSince = time.Time{}
		return now.Sub(s.BelowSince)
	}
	s.AboveSince, s.BelowSince = time.Time{}, time.Time{}
	return 0
}

// scheduleFloor is the floor in force at now for the window (zero: none).
func scheduleFloor(p Policy, b Bounds, window, now time.Time) Floor {
	if window.IsZero() || p.FloorNodes <= 0 {
		return Floor{}
	}
	from, until := window.Add(-p.LeadTime.D()), window.Add(p.HoldAfterOpen.D())
	if now.Before(from) || !now.Before(until) {
		return Floor{}
	}
	n := clamp(p.FloorNodes, b.Min.EKSNodes, b.Max.EKSNodes)
	return Floor{Active: true, Window: window, EKSNodes: n,
		EKSReplicas: clamp(n*p.ReplicasPerNode, b.Min.EKSReplicas, b.Max.EKSReplicas)}
}

// raise returns b with the EKS minimums raised to the floor: the lowest a scale-down
// may go now.
func (f Floor) raise(b Bounds) Bounds {
	if f.Active {
		b.Min.EKSNodes = max(b.Min.EKSNodes, f.EKSNodes)
		b.Min.EKSReplicas = max(b.Min.EKSReplicas, f.EKSReplicas)
	}
	return b
}

// raises says s is still short of the floor.
func (f Floor) raises(s Sizes) bool {
	return f.Active && (s.EKSNodes < f.EKSNodes || s.EKSReplicas < f.EKSReplicas)
}

func (f Floor) apply(s Sizes) Sizes {
	if f.Active {
		s.EKSNodes = max(s.EKSNodes, f.EKSNodes)
		s.EKSReplicas = max(s.EKSReplicas, f.EKSReplicas)
	}
	return s
}

// burstUp adds capacity to shed the given on-prem utilisation, on-prem tier first,
// within b.
func burstUp(p Policy, b Bounds, cur Sizes, shed float64) Sizes {
	w := cur
	room := max(b.Max.OnPremReplicas-cur.OnPremReplicas, 0)
	need := shareUnits(shed, p.OnPremReplicaShare)
	w.OnPremReplicas += min(need, room, p.MaxStepReplicas)
	if need > room { // the on-prem tier cannot hold it all even when full: the rest goes to EKS
		rest := shed - float64(room)*p.OnPremReplicaShare
		n := min(shareUnits(rest, p.EKSNodeShare), p.MaxStepNodes, b.Max.EKSNodes-cur.EKSNodes)
		w.EKSNodes += max(n, 0)
	}
	// EKS replicas follow the nodes (never down in a scale-up).
	if r := clamp(w.EKSNodes*p.ReplicasPerNode, b.Min.EKSReplicas, b.Max.EKSReplicas); r > cur.EKSReplicas {
		w.EKSReplicas += min(r-cur.EKSReplicas, p.MaxStepReplicas)
	}
	return w
}

// burstDown gives back at most spare of on-prem utilisation, EKS first, never under b's
// minimums (the floor's included). over reports that nothing was given back because
// even one unit would bring on-prem to the up threshold.
func burstDown(p Policy, b Bounds, cur Sizes, spare, u float64) (w Sizes, over bool) {
	w = cur
	minNodes, minRep := b.Min.EKSNodes, b.Min.EKSReplicas
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
		for n := 0; n < p.MaxStepReplicas && w.OnPremReplicas > b.Min.OnPremReplicas && budget >= p.OnPremReplicaShare-policyEps; n++ {
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
	case eksDone() && cur.OnPremReplicas > b.Min.OnPremReplicas && p.MaxStepReplicas > 0:
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
