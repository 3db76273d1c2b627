package autoscaler

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// policyT0 is the evaluation time of the table's cases.
var policyT0 = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

func policyAgo(d time.Duration) time.Time { return policyT0.Add(-d) }

// policyConfig is Defaults with the sizes' bounds the tests use: on-prem 2 replicas plus
// 2 on the spare node, EKS 0 to 5 nodes of 2 replicas each. Defaults' policy: up 0.80,
// down 0.55, target 0.70, sustain 2m/15m, cooldown 5m, steps 3 nodes/6 replicas, floor 2
// nodes from 20m before a window until 60m after, shares 0.10 per on-prem replica and
// 0.15 per EKS node.
func policyConfig(override func(*Config)) Config {
	c := Defaults()
	c.OnPrem.MinReplicas, c.OnPrem.MaxReplicas = 2, 4
	c.EKS.MinNodes, c.EKS.MaxNodes = 0, 5
	c.EKSApp.MinReplicas, c.EKSApp.MaxReplicas = 0, 10
	if override != nil {
		override(&c)
	}
	return c
}

// policyObs is an observation with both signals known.
func policyObs(cpu, mem float64) Observations {
	return Observations{CPU: Known(cpu), Memory: Known(mem)}
}

func policyObsWindow(cpu, mem float64, window time.Time) Observations {
	o := policyObs(cpu, mem)
	o.NextWindow = window
	return o
}

// checkDecision checks what holds for every decision: a direction that matches the
// change, a non-empty one-line reason that starts with it, Want within the config's
// bounds, Current carried as given, LastAction set exactly when Want differs and the
// change was sent, and the same answer on a second call (pure).
func checkDecision(t *testing.T, c Config, obs Observations, st State, now time.Time, d Decision) {
	t.Helper()
	switch d.Direction {
	case "up", "down", "hold":
	default:
		t.Errorf("direction %q", d.Direction)
	}
	if (d.Direction == "hold") != (d.Want == st.Current) {
		t.Errorf("direction %q with want %+v, current %+v", d.Direction, d.Want, st.Current)
	}
	if line := d.Reason.String(); !strings.HasPrefix(line, d.Direction+": ") || len(line) <= len(d.Direction)+2 || strings.Contains(line, "\n") {
		t.Errorf("reason %q: want one non-empty line starting with %q", line, d.Direction+": ")
	}
	w := d.Want
	if w.OnPremReplicas < c.OnPrem.MinReplicas || w.OnPremReplicas > c.OnPrem.MaxReplicas ||
		w.EKSNodes < c.EKS.MinNodes || w.EKSNodes > c.EKS.MaxNodes ||
		w.EKSReplicas < c.EKSApp.MinReplicas || w.EKSReplicas > c.EKSApp.MaxReplicas {
		t.Errorf("want %+v outside the config's bounds", w)
	}
	if d.Next(true).Current != st.Current || d.Next(false).Current != st.Current {
		t.Errorf("next current %+v, want %+v as given", d.Next(true).Current, st.Current)
	}
	wantLast, wantDir := st.LastAction, st.LastDirection
	if d.Want != st.Current {
		wantLast, wantDir = now, d.Direction
	}
	if sent := d.Next(true); !sent.LastAction.Equal(wantLast) || sent.LastDirection != wantDir {
		t.Errorf("next last action %v %q, want %v %q", sent.LastAction, sent.LastDirection, wantLast, wantDir)
	}
	if unsent := d.Next(false); !unsent.LastAction.Equal(st.LastAction) || unsent.LastDirection != st.LastDirection {
		t.Errorf("change not sent: last action %v %q, want %v %q as before", unsent.LastAction, unsent.LastDirection, st.LastAction, st.LastDirection)
	}
	if again := Decide(c, obs, st, now); !reflect.DeepEqual(again, d) {
		t.Errorf("not deterministic: %+v then %+v", d, again)
	}
}

func TestDecide(t *testing.T) {
	unknown := Signal{}
	window := func(d time.Duration) time.Time { return policyT0.Add(d) } // d before now when negative
	sized := func(on, nodes, reps int) State { return State{Current: Sizes{on, nodes, reps}} }
	with := func(s State, f func(*State)) State { f(&s); return s }
	above := func(s State, d time.Duration) State { return with(s, func(s *State) { s.AboveSince = policyAgo(d) }) }
	below := func(s State, d time.Duration) State { return with(s, func(s *State) { s.BelowSince = policyAgo(d) }) }
	last := func(s State, d time.Duration) State { return with(s, func(s *State) { s.LastAction = policyAgo(d) }) }

	cases := []struct {
		name   string
		cfg    func(*Config)
		obs    Observations
		st     State
		want   Sizes
		dir    string
		reason []string // substrings of the reason
		// the timers expected in Next
		aboveSince, belowSince time.Time
	}{
		// Hysteresis and the sustain timers.
		{name: "between the thresholds holds and clears both timers",
			obs: policyObs(0.70, 0.50), st: below(above(sized(2, 0, 0), 5*time.Minute), 20*time.Minute),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"hold: cpu 0.70 between 0.55 and 0.80 (memory 0.50)"}},
		{name: "first seen above sets AboveSince and holds",
			obs: policyObs(0.90, 0.50), st: below(sized(2, 0, 0), time.Hour),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"hold: cpu 0.90 above 0.80 for 0s of 2m0s"},
			aboveSince: policyT0},
		{name: "above, sustain not yet reached: holds and keeps AboveSince",
			obs: policyObs(0.90, 0.50), st: above(sized(2, 0, 0), 2*time.Minute-time.Second),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"for 1m59s of 2m0s"},
			aboveSince: policyAgo(2*time.Minute - time.Second)},
		{name: "above for exactly UpSustain scales up",
			obs: policyObs(0.85, 0.50), st: above(sized(2, 0, 0), 2*time.Minute),
			want: Sizes{4, 0, 0}, dir: "up", reason: []string{"up: cpu 0.85 above 0.80 for 2m0s", "shedding 0.15", "on-prem replicas 2→4"},
			aboveSince: policyAgo(2 * time.Minute)},
		{name: "exactly at the up threshold is not above: holds, clears AboveSince",
			obs: policyObs(0.80, 0.50), st: above(sized(2, 0, 0), 10*time.Minute),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"between 0.55 and 0.80"}},
		{name: "exactly at the down threshold is not below: holds, clears BelowSince",
			obs: policyObs(0.55, 0.50), st: below(sized(4, 2, 4), 30*time.Minute),
			want: Sizes{4, 2, 4}, dir: "hold", reason: []string{"between 0.55 and 0.80"}},
		{name: "first seen below sets BelowSince and holds",
			obs: policyObs(0.30, 0.20), st: above(sized(4, 2, 4), time.Minute),
			want: Sizes{4, 2, 4}, dir: "hold", reason: []string{"hold: cpu 0.30 below 0.55 for 0s of 15m0s (memory 0.20)"},
			belowSince: policyT0},
		{name: "below, sustain not yet reached: holds and keeps BelowSince",
			obs: policyObs(0.30, 0.20), st: below(sized(4, 2, 4), 15*time.Minute-time.Second),
			want: Sizes{4, 2, 4}, dir: "hold", reason: []string{"for 14m59s of 15m0s"},
			belowSince: policyAgo(15*time.Minute - time.Second)},
		{name: "below for exactly DownSustain scales down",
			obs: policyObs(0.50, 0.40), st: below(sized(4, 2, 4), 15*time.Minute),
			want: Sizes{4, 1, 2}, dir: "down", reason: []string{"down: cpu 0.50 below 0.55 for 15m0s (memory 0.40), giving back 0.20", "eks nodes 2→1, eks replicas 4→2"},
			belowSince: policyAgo(15 * time.Minute)},
		{name: "memory is u when it is the higher",
			obs: policyObs(0.50, 0.90), st: above(sized(2, 0, 0), 3*time.Minute),
			want: Sizes{4, 0, 0}, dir: "up", reason: []string{"up: memory 0.90 above 0.80 for 3m0s (cpu 0.50)"},
			aboveSince: policyAgo(3 * time.Minute)},

		// Tier order up: on-prem spare first, EKS only for what it cannot hold.
		{name: "up fills the on-prem spare and sends only the rest to EKS",
			obs: policyObs(0.91, 0.50), st: above(sized(2, 0, 0), 2*time.Minute),
			want: Sizes{4, 1, 2}, dir: "up",
			reason:     []string{"up: cpu 0.91 above 0.80 for 2m0s (memory 0.50), shedding 0.21; on-prem replicas 2→4 (spare), eks nodes 0→1, eks replicas 0→2"},
			aboveSince: policyAgo(2 * time.Minute)},
		{name: "up leaves EKS alone while the on-prem tier can hold the shed",
			cfg: func(c *Config) { c.OnPrem.MaxReplicas = 8 },
			obs: policyObs(0.95, 0.50), st: above(sized(2, 0, 0), 2*time.Minute),
			want: Sizes{5, 0, 0}, dir: "up", reason: []string{"shedding 0.25", "on-prem replicas 2→5 (spare)"},
			aboveSince: policyAgo(2 * time.Minute)},
		{name: "up with the on-prem tier full goes to EKS",
			obs: policyObs(0.85, 0.50), st: above(sized(4, 0, 0), 2*time.Minute),
			want: Sizes{4, 1, 2}, dir: "up", reason: []string{"eks nodes 0→1, eks replicas 0→2"},
			aboveSince: policyAgo(2 * time.Minute)},

		// Tier order down: EKS first, on-prem spare last.
		{name: "down gives back EKS and keeps the on-prem spare while EKS remains",
			obs: policyObs(0.50, 0.40), st: below(sized(4, 2, 4), time.Hour),
			want: Sizes{4, 1, 2}, dir: "down", reason: []string{"eks nodes 2→1"},
			belowSince: policyAgo(time.Hour)},
		{name: "down gives back the on-prem spare once EKS is empty",
			obs: policyObs(0.30, 0.20), st: below(sized(4, 1, 2), time.Hour),
			want: Sizes{2, 0, 0}, dir: "down", reason: []string{"giving back 0.40", "on-prem replicas 4→2 (spare), eks nodes 1→0, eks replicas 2→0"},
			belowSince: policyAgo(time.Hour)},
		{name: "down spends only the spare: the on-prem spare gets what EKS left of it",
			obs: policyObs(0.10, 0.10), st: below(sized(4, 3, 6), time.Hour),
			want: Sizes{3, 0, 0}, dir: "down", reason: []string{"giving back 0.60"},
			belowSince: policyAgo(time.Hour)},
		{name: "down keeps the on-prem spare while step-limited EKS replicas remain",
			cfg: func(c *Config) { c.Policy.MaxStepReplicas = 2 },
			obs: policyObs(0.10, 0.10), st: below(sized(4, 2, 4), time.Hour),
			want: Sizes{4, 0, 2}, dir: "down", belowSince: policyAgo(time.Hour)},

		// Step limits.
		{name: "up: at most MaxStepNodes nodes",
			cfg: func(c *Config) { c.Policy.MaxStepNodes = 1 },
			obs: policyObs(1.00, 0.50), st: above(sized(4, 0, 0), 2*time.Minute),
			want: Sizes{4, 1, 2}, dir: "up", aboveSince: policyAgo(2 * time.Minute)},
		{name: "up: at most MaxStepReplicas on-prem replicas, no EKS while on-prem can hold it",
			cfg: func(c *Config) { c.Policy.MaxStepReplicas = 1 },
			obs: policyObs(0.90, 0.50), st: above(sized(2, 0, 0), 2*time.Minute),
			want: Sizes{3, 0, 0}, dir: "up", aboveSince: policyAgo(2 * time.Minute)},
		{name: "up: at most MaxStepReplicas EKS replicas",
			cfg: func(c *Config) { c.Policy.MaxStepReplicas = 3 },
			obs: policyObs(1.00, 0.50), st: above(sized(4, 0, 0), 2*time.Minute),
			want: Sizes{4, 2, 3}, dir: "up", aboveSince: policyAgo(2 * time.Minute)},
		{name: "up: a step-limited on-prem tier still sends to EKS what it could never hold",
			cfg: func(c *Config) {
				c.OnPrem.MaxReplicas, c.Policy.MaxStepReplicas, c.Policy.OnPremReplicaShare = 6, 2, 0.05
			},
			obs: policyObs(1.00, 0.50), st: above(sized(2, 0, 0), 2*time.Minute),
			want: Sizes{4, 1, 2}, dir: "up", aboveSince: policyAgo(2 * time.Minute)},
		{name: "down: at most MaxStepNodes nodes",
			cfg: func(c *Config) { c.Policy.MaxStepNodes = 1 },
			obs: policyObs(0.10, 0.10), st: below(sized(4, 3, 6), time.Hour),
			want: Sizes{4, 2, 4}, dir: "down", belowSince: policyAgo(time.Hour)},
		{name: "down: at most MaxStepReplicas on-prem replicas",
			cfg: func(c *Config) { c.Policy.MaxStepReplicas = 1 },
			obs: policyObs(0.10, 0.10), st: below(sized(4, 0, 0), time.Hour),
			want: Sizes{3, 0, 0}, dir: "down", belowSince: policyAgo(time.Hour)},

		// Min/max clamps on every size.
		{name: "up stops at EKS max nodes",
			obs: policyObs(1.00, 0.50), st: above(sized(4, 4, 8), 2*time.Minute),
			want: Sizes{4, 5, 10}, dir: "up", aboveSince: policyAgo(2 * time.Minute)},
		{name: "up stops at EKS app max replicas",
			cfg: func(c *Config) { c.EKSApp.MaxReplicas = 9 },
			obs: policyObs(1.00, 0.50), st: above(sized(4, 4, 8), 2*time.Minute),
			want: Sizes{4, 5, 9}, dir: "up", aboveSince: policyAgo(2 * time.Minute)},
		{name: "up with every tier at its maximum holds",
			obs: policyObs(0.95, 0.50), st: last(above(sized(4, 5, 10), 20*time.Minute), 10*time.Minute),
			want: Sizes{4, 5, 10}, dir: "hold", reason: []string{"hold: cpu 0.95 above 0.80 for 20m0s", "every tier at its maximum (on-prem 4/4 replicas, eks 5/5 nodes)"},
			aboveSince: policyAgo(20 * time.Minute)},
		{name: "down stops at EKS min nodes and on-prem min replicas",
			cfg: func(c *Config) { c.EKS.MinNodes = 1 },
			obs: policyObs(0.10, 0.10), st: below(sized(4, 2, 4), time.Hour),
			want: Sizes{2, 1, 2}, dir: "down", belowSince: policyAgo(time.Hour)},
		{name: "down stops at EKS app min replicas",
			cfg: func(c *Config) { c.EKSApp.MinReplicas = 1 },
			obs: policyObs(0.10, 0.10), st: below(sized(2, 1, 2), time.Hour),
			want: Sizes{2, 0, 1}, dir: "down", belowSince: policyAgo(time.Hour)},
		{name: "down with everything at its minimum holds",
			obs: policyObs(0.10, 0.10), st: below(sized(2, 0, 0), time.Hour),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"hold: cpu 0.10 below 0.55 for 1h0m0s (memory 0.10); nothing to give back"},
			belowSince: policyAgo(time.Hour)},
		{name: "a current above max is brought back, even in cooldown",
			obs: policyObs(0.70, 0.50), st: last(sized(6, 7, 14), time.Minute),
			want: Sizes{4, 5, 10}, dir: "down", reason: []string{"down: config bounds (min/max); cpu 0.70 between", "on-prem replicas 6→4 (spare), eks nodes 7→5, eks replicas 14→10"}},
		{name: "a current below min is raised",
			cfg: func(c *Config) { c.EKS.MinNodes, c.EKSApp.MinReplicas = 1, 2 },
			obs: policyObs(0.70, 0.50), st: sized(0, 0, 0),
			want: Sizes{2, 1, 2}, dir: "up", reason: []string{"config bounds"}},
		{name: "a clamp down with a load up is up, and the burst counts from the clamped size",
			obs: policyObs(0.90, 0.50), st: above(sized(6, 0, 0), 2*time.Minute),
			want: Sizes{4, 2, 4}, dir: "up", reason: []string{"up: cpu 0.90", "config bounds", "on-prem replicas 6→4"},
			aboveSince: policyAgo(2 * time.Minute)},

		// Cooldown.
		{name: "cooldown holds a sustained up",
			obs: policyObs(0.90, 0.50), st: last(above(sized(2, 0, 0), 5*time.Minute), 3*time.Minute),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"hold: cooldown, 120 s left; cpu 0.90 above 0.80 for 5m0s (memory 0.50)"},
			aboveSince: policyAgo(5 * time.Minute)},
		{name: "cooldown ends at exactly Cooldown",
			obs: policyObs(0.90, 0.50), st: last(above(sized(2, 0, 0), 5*time.Minute), 5*time.Minute),
			want: Sizes{4, 0, 0}, dir: "up", aboveSince: policyAgo(5 * time.Minute)},
		{name: "cooldown holds a sustained down and keeps BelowSince",
			obs: policyObs(0.30, 0.30), st: last(below(sized(4, 2, 4), 20*time.Minute), 4*time.Minute+30*time.Second),
			want: Sizes{4, 2, 4}, dir: "hold", reason: []string{"hold: cooldown, 30 s left"},
			belowSince: policyAgo(20 * time.Minute)},
		{name: "cooldown seconds round up",
			obs: policyObs(0.70, 0.50), st: last(sized(2, 0, 0), 5*time.Minute-500*time.Millisecond),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"hold: cooldown, 1 s left"}},

		// The schedule floor.
		{name: "no floor before the lead time",
			obs: policyObsWindow(0.70, 0.50, window(20*time.Minute+time.Second)), st: sized(2, 0, 0),
			want: Sizes{2, 0, 0}, dir: "hold"},
		{name: "floor from exactly LeadTime before the window",
			obs: policyObsWindow(0.70, 0.50, window(20*time.Minute)), st: sized(2, 0, 0),
			want: Sizes{2, 2, 4}, dir: "up", reason: []string{"up: schedule floor 2 eks nodes, 4 replicas (window opens in 20m0s); cpu 0.70 between", "eks nodes 0→2, eks replicas 0→4"}},
		{name: "floor raised despite cooldown",
			obs: policyObsWindow(0.70, 0.50, window(10*time.Minute)), st: last(sized(2, 0, 0), time.Minute),
			want: Sizes{2, 2, 4}, dir: "up", reason: []string{"raised despite cooldown (240 s left)"}},
		{name: "floor raised with both signals unknown",
			obs: Observations{CPU: unknown, Memory: unknown, NextWindow: window(10 * time.Minute)}, st: sized(2, 0, 0),
			want: Sizes{2, 2, 4}, dir: "up", reason: []string{"schedule floor", "cpu and memory unknown"}},
		{name: "floor raised regardless of step limits",
			cfg: func(c *Config) { c.Policy.FloorNodes, c.Policy.MaxStepNodes, c.Policy.MaxStepReplicas = 4, 1, 1 },
			obs: policyObsWindow(0.70, 0.50, window(10*time.Minute)), st: sized(2, 0, 0),
			want: Sizes{2, 4, 8}, dir: "up"},
		{name: "floor clamped to the EKS and EKS app maximums",
			cfg: func(c *Config) { c.Policy.FloorNodes, c.EKSApp.MaxReplicas = 8, 8 },
			obs: policyObsWindow(0.70, 0.50, window(10*time.Minute)), st: sized(2, 0, 0),
			want: Sizes{2, 5, 8}, dir: "up"},
		{name: "floor held after the opening: a scale-down stops at it",
			obs: policyObsWindow(0.10, 0.10, window(-59*time.Minute)), st: below(sized(4, 3, 6), 30*time.Minute),
			want: Sizes{2, 2, 4}, dir: "down", reason: []string{"eks nodes 3→2"},
			belowSince: policyAgo(30 * time.Minute)},
		{name: "floor held until just before HoldAfterOpen: nothing to give back",
			obs: policyObsWindow(0.10, 0.10, window(-time.Hour+time.Nanosecond)), st: below(sized(2, 2, 4), 30*time.Minute),
			want: Sizes{2, 2, 4}, dir: "hold", reason: []string{"nothing to give back", "schedule floor 2 eks nodes, 4 replicas (window opened 59m59.999999999s ago) held"},
			belowSince: policyAgo(30 * time.Minute)},
		{name: "floor released at exactly HoldAfterOpen",
			obs: policyObsWindow(0.10, 0.10, window(-time.Hour)), st: below(sized(2, 2, 4), 30*time.Minute),
			want: Sizes{2, 0, 0}, dir: "down", belowSince: policyAgo(30 * time.Minute)},
		{name: "no floor without a next window",
			obs: policyObs(0.70, 0.50), st: sized(2, 0, 0),
			want: Sizes{2, 0, 0}, dir: "hold"},
		{name: "no floor with FloorNodes 0",
			cfg: func(c *Config) { c.Policy.FloorNodes = 0 },
			obs: policyObsWindow(0.70, 0.50, window(10*time.Minute)), st: sized(2, 0, 0),
			want: Sizes{2, 0, 0}, dir: "hold"},
		{name: "a burst above the floor is sized from the load",
			obs: policyObsWindow(1.00, 0.50, window(10*time.Minute)), st: above(sized(4, 1, 2), 2*time.Minute),
			want: Sizes{4, 3, 6}, dir: "up", reason: []string{"up: cpu 1.00 above 0.80 for 2m0s"},
			aboveSince: policyAgo(2 * time.Minute)},
		{name: "a burst under the floor is raised to it",
			obs: policyObsWindow(0.85, 0.50, window(10*time.Minute)), st: above(sized(4, 0, 0), 2*time.Minute),
			want: Sizes{4, 2, 4}, dir: "up", reason: []string{"shedding 0.15", "schedule floor 2 eks nodes"},
			aboveSince: policyAgo(2 * time.Minute)},
		{name: "a sustained down while the floor is still being raised: the floor only",
			obs: policyObsWindow(0.10, 0.10, window(5*time.Minute)), st: below(sized(4, 0, 0), 30*time.Minute),
			want: Sizes{4, 2, 4}, dir: "up", belowSince: policyAgo(30 * time.Minute)},

		// Unknown signals.
		{name: "cpu unknown never scales down and clears BelowSince",
			obs: Observations{CPU: unknown, Memory: Known(0.10)}, st: below(sized(4, 2, 4), time.Hour),
			want: Sizes{4, 2, 4}, dir: "hold", reason: []string{"hold: cpu unknown, memory 0.10 not above 0.80, no scale-down on unknown signals"}},
		{name: "memory unknown never scales down and clears BelowSince",
			obs: Observations{CPU: Known(0.10), Memory: unknown}, st: below(sized(4, 2, 4), time.Hour),
			want: Sizes{4, 2, 4}, dir: "hold", reason: []string{"hold: memory unknown, cpu 0.10 not above 0.80"}},
		{name: "both unknown hold and clear both timers",
			obs: Observations{CPU: unknown, Memory: unknown}, st: above(below(sized(4, 2, 4), time.Hour), time.Hour),
			want: Sizes{4, 2, 4}, dir: "hold", reason: []string{"hold: cpu and memory unknown, no scale-down on unknown signals"}},
		{name: "Known false is unknown whatever the value",
			obs: Observations{CPU: Signal{Value: 0.99}, Memory: Known(0.30)}, st: above(sized(2, 0, 0), time.Hour),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"cpu unknown, memory 0.30 not above"}},
		{name: "cpu above with memory unknown scales up, sized from cpu",
			obs: Observations{CPU: Known(0.95), Memory: unknown}, st: above(sized(2, 0, 0), 2*time.Minute),
			want: Sizes{4, 1, 2}, dir: "up", reason: []string{"up: cpu 0.95 above 0.80 for 2m0s (memory unknown), shedding 0.25"},
			aboveSince: policyAgo(2 * time.Minute)},
		{name: "memory above with cpu unknown starts AboveSince",
			obs: Observations{CPU: unknown, Memory: Known(0.90)}, st: below(sized(2, 0, 0), time.Hour),
			want: Sizes{2, 0, 0}, dir: "hold", reason: []string{"memory 0.90 above 0.80 for 0s of 2m0s (cpu unknown)"},
			aboveSince: policyT0},
		{name: "one unknown and the known one not above clears AboveSince",
			obs: Observations{CPU: Known(0.75), Memory: unknown}, st: above(sized(2, 0, 0), 10*time.Minute),
			want: Sizes{2, 0, 0}, dir: "hold"},

		// Shares too large for the spare between down and target.
		{name: "down gives back one unit when none fits but on-prem stays under up",
			cfg: func(c *Config) {
				c.Policy.DownThreshold, c.Policy.Target, c.Policy.UpThreshold, c.Policy.EKSNodeShare = 0.60, 0.65, 0.90, 0.20
			},
			obs: policyObs(0.58, 0.50), st: below(sized(2, 1, 2), time.Hour),
			want: Sizes{2, 0, 0}, dir: "down", reason: []string{"giving back 0.07"}, belowSince: policyAgo(time.Hour)},
		{name: "down holds when one unit would bring on-prem to the up threshold",
			cfg: func(c *Config) {
				c.Policy.DownThreshold, c.Policy.Target, c.Policy.UpThreshold, c.Policy.EKSNodeShare = 0.60, 0.65, 0.75, 0.20
			},
			obs: policyObs(0.58, 0.50), st: below(sized(2, 1, 2), time.Hour),
			want: Sizes{2, 1, 2}, dir: "hold", reason: []string{"giving back one more unit would bring on-prem to the up threshold"},
			belowSince: policyAgo(time.Hour)},
		{name: "down gives back one on-prem replica when none fits",
			cfg: func(c *Config) {
				c.Policy.DownThreshold, c.Policy.Target, c.Policy.UpThreshold, c.Policy.OnPremReplicaShare = 0.60, 0.65, 0.90, 0.20
			},
			obs: policyObs(0.58, 0.50), st: below(sized(4, 0, 0), time.Hour),
			want: Sizes{3, 0, 0}, dir: "down", belowSince: policyAgo(time.Hour)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := policyConfig(tc.cfg)
			d := Decide(c, tc.obs, tc.st, policyT0)
			if d.Want != tc.want || d.Direction != tc.dir {
				t.Errorf("got %s %+v, want %s %+v\nreason: %s", d.Direction, d.Want, tc.dir, tc.want, d.Reason)
			}
			for _, s := range tc.reason {
				if !strings.Contains(d.Reason.String(), s) {
					t.Errorf("reason %q\ndoes not contain %q", d.Reason, s)
				}
			}
			if next := d.Next(true); !next.AboveSince.Equal(tc.aboveSince) || !next.BelowSince.Equal(tc.belowSince) {
				t.Errorf("next timers above %v below %v, want above %v below %v", next.AboveSince, next.BelowSince, tc.aboveSince, tc.belowSince)
			}
			checkDecision(t, c, tc.obs, tc.st, policyT0, d)
		})
	}
}

// policyStep is one evaluation of a simulation.
type policyStep struct {
	at time.Time
	d  Decision
}

// simulatePolicy steps Decide every interval over a span, starting from the sizes
// given, as the loop would with a perfect target: each Want becomes the next Current.
// obsAt gives the observations at a time with the sizes then in place.
func simulatePolicy(t *testing.T, c Config, start Sizes, every, span time.Duration, obsAt func(time.Time, Sizes) Observations) []policyStep {
	t.Helper()
	st := State{Current: start}
	var steps []policyStep
	for at := policyT0; at.Before(policyT0.Add(span)); at = at.Add(every) {
		obs := obsAt(at, st.Current)
		d := Decide(c, obs, st, at)
		checkDecision(t, c, obs, st, at, d)
		steps = append(steps, policyStep{at, d})
		st = d.Next(true)
		st.Current = d.Want
	}
	return steps
}

// checkNoQuickReversal checks that no up follows a down within UpSustain, no down
// follows an up within DownSustain, and no two load actions come within Cooldown.
func checkNoQuickReversal(t *testing.T, c Config, steps []policyStep) (ups, downs int) {
	t.Helper()
	var lastUp, lastDown, lastAny time.Time
	for _, s := range steps {
		switch s.d.Direction {
		case "up":
			ups++
			if !lastDown.IsZero() && s.at.Sub(lastDown) < c.Policy.UpSustain.D() {
				t.Errorf("%s: up %s after the down at %s: %s", s.at.Format("15:04:05"), s.at.Sub(lastDown), lastDown.Format("15:04:05"), s.d.Reason)
			}
			lastUp = s.at
		case "down":
			downs++
			if !lastUp.IsZero() && s.at.Sub(lastUp) < c.Policy.DownSustain.D() {
				t.Errorf("%s: down %s after the up at %s: %s", s.at.Format("15:04:05"), s.at.Sub(lastUp), lastUp.Format("15:04:05"), s.d.Reason)
			}
			lastDown = s.at
		default:
			continue
		}
		if !lastAny.IsZero() && s.at.Sub(lastAny) < c.Policy.Cooldown.D() {
			t.Errorf("%s: action %s after the last one, within the cooldown: %s", s.at.Format("15:04:05"), s.at.Sub(lastAny), s.d.Reason)
		}
		lastAny = s.at
	}
	return ups, downs
}

// policyLoad is a closed-loop model of on-prem utilisation: the load on-prem would carry
// alone, less what the spare replicas and the EKS nodes (with replicas to use them) take.
func policyLoad(c Config, load float64, s Sizes) Observations {
	p := c.Policy
	nodes := min(s.EKSNodes, s.EKSReplicas/p.ReplicasPerNode)
	u := load - float64(s.OnPremReplicas-c.OnPrem.MinReplicas)*p.OnPremReplicaShare - float64(nodes)*p.EKSNodeShare
	u = min(max(u, 0.05), 1)
	return policyObs(u, u*0.8)
}

func TestDecideOscillatingLoadNeverReversesWithinDownSustain(t *testing.T) {
	c := policyConfig(nil)
	// Open loop: 3 minutes above, 10 below, over and over; below never lasts DownSustain.
	steps := simulatePolicy(t, c, Sizes{2, 0, 0}, 30*time.Second, 4*time.Hour, func(at time.Time, _ Sizes) Observations {
		if at.Sub(policyT0)%(13*time.Minute) < 3*time.Minute {
			return policyObs(0.92, 0.60)
		}
		return policyObs(0.40, 0.30)
	})
	ups, downs := checkNoQuickReversal(t, c, steps)
	if ups == 0 || downs != 0 {
		t.Errorf("open loop: %d ups, %d downs; want some ups and no down (below never lasts %s)", ups, downs, c.Policy.DownSustain.D())
	}

	// Closed loop: 30 minutes of heavy load, then 30 light, repeated; the load is
	// carried by whatever capacity is in place.
	steps = simulatePolicy(t, c, Sizes{2, 0, 0}, 30*time.Second, 6*time.Hour, func(at time.Time, s Sizes) Observations {
		load := 0.30
		if at.Sub(policyT0)%time.Hour < 30*time.Minute {
			load = 1.40
		}
		return policyLoad(c, load, s)
	})
	ups, downs = checkNoQuickReversal(t, c, steps)
	if ups == 0 || downs == 0 {
		t.Errorf("closed loop: %d ups, %d downs; want both", ups, downs)
	}

	// Flicker around the up threshold: never above for UpSustain, so never an up.
	steps = simulatePolicy(t, c, Sizes{2, 0, 0}, 30*time.Second, time.Hour, func(at time.Time, _ Sizes) Observations {
		if at.Sub(policyT0)%(2*time.Minute) < time.Minute {
			return policyObs(0.81, 0.60)
		}
		return policyObs(0.79, 0.60)
	})
	if ups, downs := checkNoQuickReversal(t, c, steps); ups != 0 || downs != 0 {
		t.Errorf("flicker: %d ups, %d downs; want none", ups, downs)
	}
}

func TestDecideSteadyLoadSettles(t *testing.T) {
	c := policyConfig(nil)
	for _, load := range []float64{0.75, 0.95, 1.10, 1.40, 1.80} {
		steps := simulatePolicy(t, c, Sizes{2, 0, 0}, 30*time.Second, 3*time.Hour, func(_ time.Time, s Sizes) Observations {
			return policyLoad(c, load, s)
		})
		ups, downs := checkNoQuickReversal(t, c, steps)
		if downs != 0 {
			t.Errorf("steady load %.2f: %d ups then %d downs: a burst must not give itself back", load, ups, downs)
		}
		// After the first hour, nothing moves any more.
		for _, s := range steps {
			if s.at.Sub(policyT0) > time.Hour && s.d.Direction != "hold" {
				t.Errorf("steady load %.2f: still moving at %s: %s", load, s.at.Sub(policyT0), s.d.Reason)
			}
		}
		end := steps[len(steps)-1].d.Want
		u := policyLoad(c, load, end).CPU.Value
		if u > c.Policy.UpThreshold && end != (Sizes{4, 5, 10}) {
			t.Errorf("steady load %.2f settles at %+v with on-prem %.2f, above the up threshold short of the maximum", load, end, u)
		}
	}
}

// A burst followed by a quiet school gives everything back, EKS first, on-prem last.
func TestDecideBurstGivesBackEKSFirst(t *testing.T) {
	c := policyConfig(nil)
	steps := simulatePolicy(t, c, Sizes{2, 0, 0}, 30*time.Second, 4*time.Hour, func(at time.Time, s Sizes) Observations {
		load := 0.20
		if at.Sub(policyT0) < time.Hour {
			load = 1.40
		}
		return policyLoad(c, load, s)
	})
	checkNoQuickReversal(t, c, steps)
	var peak Sizes
	for _, s := range steps {
		w, cur := s.d.Want, s.d.From
		peak.OnPremReplicas = max(peak.OnPremReplicas, w.OnPremReplicas)
		peak.EKSNodes = max(peak.EKSNodes, w.EKSNodes)
		switch s.d.Direction {
		case "up":
			if w.EKSNodes > cur.EKSNodes && w.OnPremReplicas < c.OnPrem.MaxReplicas {
				t.Errorf("%s: EKS grows before the on-prem spare is full: %s", s.at.Sub(policyT0), s.d.Reason)
			}
		case "down":
			if w.OnPremReplicas < cur.OnPremReplicas && w.EKSNodes > 0 {
				t.Errorf("%s: the on-prem spare shrinks while EKS remains: %s", s.at.Sub(policyT0), s.d.Reason)
			}
		}
	}
	if peak.OnPremReplicas != 4 || peak.EKSNodes == 0 {
		t.Errorf("peak %+v: want the spare full and some EKS", peak)
	}
	if end := steps[len(steps)-1].d.Want; end != (Sizes{2, 0, 0}) {
		t.Errorf("ends at %+v, want everything given back", end)
	}
}

// Once a window opens the app's gauge names the next one (or none); the floor must still
// hold for HoldAfterOpen after the opening.
func TestFloorHeldAfterTheGaugeMovesOn(t *testing.T) {
	c := policyConfig(nil)
	opens := time.Date(2027, 2, 15, 10, 0, 0, 0, time.UTC)
	st := State{Current: Sizes{OnPremReplicas: 2}}
	step := func(now time.Time, window time.Time) Decision {
		t.Helper()
		d := Decide(c, policyObsWindow(0.30, 0.30, window), st, now)
		st = d.Next(true)
		st.Current = d.Want // a perfect target
		return d
	}
	if d := step(opens.Add(-10*time.Minute), opens); d.Want.EKSNodes != 2 {
		t.Fatalf("before the opening: %d nodes, want the floor of 2 (%s)", d.Want.EKSNodes, d.Reason)
	}
	if d := step(opens.Add(30*time.Minute), time.Time{}); d.Want.EKSNodes != 2 {
		t.Errorf("30m after the opening, gauge empty: %d nodes, want 2 held (%s)", d.Want.EKSNodes, d.Reason)
	}
	nextWeek := opens.Add(7 * 24 * time.Hour)
	if d := step(opens.Add(50*time.Minute), nextWeek); d.Want.EKSNodes != 2 {
		t.Errorf("50m after, gauge on next week's window: %d nodes, want 2 held (%s)", d.Want.EKSNodes, d.Reason)
	}
	// After HoldAfterOpen (60m) and the down-sustain, the low load gives it back.
	var d Decision
	for now := opens.Add(61 * time.Minute); now.Before(opens.Add(3 * time.Hour)); now = now.Add(time.Minute) {
		d = step(now, nextWeek)
	}
	if d.Want.EKSNodes != 0 || !st.FloorWindow.IsZero() {
		t.Errorf("long after the window: %d nodes, floor window %v (%s)", d.Want.EKSNodes, st.FloorWindow, d.Reason)
	}
}

// The fast signals: requests in flight (with the waiting room and its arrivals) over the
// on-prem slots, not capped at 1, size the step from how far demand is past capacity;
// they only ever raise u, so a scale-down still waits for CPU and memory.
func TestDecideFastDemand(t *testing.T) {
	c := policyConfig(func(c *Config) {
		c.Policy.MaxStepNodes, c.Policy.MaxStepReplicas = 10, 20
		c.EKS.MaxNodes, c.EKSApp.MaxReplicas = 10, 20
	})
	cur := Sizes{OnPremReplicas: 2}
	st := State{Current: cur, AboveSince: policyAgo(3 * time.Minute)}
	for _, tc := range []struct {
		name      string
		obs       Observations
		nodes     int
		signal    string
		direction string
	}{
		// 2 replicas × 64 slots = 128; 256 in flight is demand 2.0: shed 1.3, on-prem
		// +2 (0.20), the rest 1.10 / 0.15 = 8 nodes.
		{"in flight twice the slots", Observations{CPU: Known(1), Memory: Known(0.5), InFlight: Known(256)}, 8, "demand", "up"},
		// The same with CPU alone (capped at 1): shed 0.30, +2 on-prem, 1 node.
		{"cpu alone", Observations{CPU: Known(1), Memory: Known(0.5)}, 1, "cpu", "up"},
		// 100 in flight + 400 waiting / 20 per slot + 10/s × 0.5 s = 125 of 128: above.
		{"waiting room counts", Observations{CPU: Known(0.5), Memory: Known(0.5), InFlight: Known(100),
			WaitingRoom: Known(400), ArrivalRate: Known(10)}, 1, "demand", "up"},
		// Ready EKS replicas take their share: 256 - 2 nodes × 2 × 64 = 0 left on-prem.
		{"ready EKS replicas take theirs", Observations{CPU: Known(0.6), Memory: Known(0.5), InFlight: Known(256), ReadyNodes: Known(2)},
			0, "cpu", "hold"},
		// CPU unknown: a demand above the threshold is enough to go up.
		// CPU unknown: a demand above the threshold is enough to go up (1.56: 2 + 5 nodes).
		{"cpu unknown", Observations{InFlight: Known(200)}, 5, "demand", "up"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := st
			if tc.obs.ReadyNodes.Known {
				s.Current = Sizes{OnPremReplicas: 2, EKSNodes: 2, EKSReplicas: 4}
			}
			d := Decide(c, tc.obs, s, policyT0)
			if d.Utilisation.Signal != tc.signal || d.Direction != tc.direction || (tc.direction == "up" && d.Want.EKSNodes != tc.nodes) {
				t.Errorf("%s: want %s driven by %s to %d nodes", d.Reason, tc.direction, tc.signal, tc.nodes)
			}
		})
	}
	// Low demand never scales down by itself.
	d := Decide(c, Observations{CPU: Known(0.7), Memory: Known(0.7), InFlight: Known(1)},
		State{Current: Sizes{OnPremReplicas: 4, EKSNodes: 2, EKSReplicas: 4}, BelowSince: policyAgo(time.Hour)}, policyT0)
	if d.Direction != "hold" {
		t.Errorf("scaled down on the fast signal alone: %s", d.Reason)
	}
}
