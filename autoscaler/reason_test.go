package autoscaler

import (
	"encoding/json"
	"testing"
	"time"
)

// reasonBase is a Reason at policyT0 under policyConfig's bounds and thresholds; each
// case changes what it is about.
func reasonBase(f func(*Reason)) Reason {
	b := policyConfig(nil).bounds()
	r := Reason{At: policyT0, Direction: "hold", Bounds: b,
		Utilisation: Utilisation{Level: LevelBetween, Signal: "cpu", Value: 0.70, Other: "memory", OtherValue: Known(0.50), Up: 0.80, Down: 0.55}}
	f(&r)
	return r
}

func TestReasonString(t *testing.T) {
	above := func(r *Reason, v float64, held, sustain time.Duration) {
		r.Utilisation.Level, r.Utilisation.Value, r.Utilisation.For, r.Utilisation.Sustain = LevelAbove, v, held, sustain
	}
	floor := func(r *Reason, opens time.Duration) {
		r.Floor = Floor{Active: true, Window: policyT0.Add(opens), EKSNodes: 2, EKSReplicas: 4}
		r.Bounds = r.Floor.raise(r.Bounds)
	}
	change := func(r *Reason, dir string, from, to Sizes) { r.Direction, r.From, r.Want = dir, from, to }
	cases := []struct {
		name string
		r    Reason
		want string
	}{
		{"between",
			reasonBase(func(r *Reason) {}),
			"hold: cpu 0.70 between 0.55 and 0.80 (memory 0.50)"},
		{"a sustain not reached shows how long it must last",
			reasonBase(func(r *Reason) { above(r, 0.90, time.Minute, 2*time.Minute) }),
			"hold: cpu 0.90 above 0.80 for 1m0s of 2m0s (memory 0.50)"},
		{"under a cooldown the sustain is not what holds; seconds round up",
			reasonBase(func(r *Reason) { above(r, 0.90, time.Minute, 2*time.Minute); r.CooldownLeft = 500 * time.Millisecond }),
			"hold: cooldown, 1 s left; cpu 0.90 above 0.80 for 1m0s (memory 0.50)"},
		{"every tier at its maximum, with the figures",
			reasonBase(func(r *Reason) {
				above(r, 0.95, 20*time.Minute, 2*time.Minute)
				r.From, r.Want, r.Stuck = Sizes{4, 5, 10}, Sizes{4, 5, 10}, StuckAtMaximum
			}),
			"hold: cpu 0.95 above 0.80 for 20m0s (memory 0.50); every tier at its maximum (on-prem 4/4 replicas, eks 5/5 nodes)"},
		{"nothing to give back names the minimums in force, the floor's included",
			reasonBase(func(r *Reason) {
				r.Utilisation.Level, r.Utilisation.Value, r.Utilisation.For, r.Utilisation.Sustain = LevelBelow, 0.10, time.Hour, 15*time.Minute
				r.Utilisation.OtherValue = Known(0.10)
				floor(r, -30*time.Minute)
				r.From, r.Want, r.Stuck = Sizes{2, 2, 4}, Sizes{2, 2, 4}, StuckAtMinimum
			}),
			"hold: cpu 0.10 below 0.55 for 1h0m0s (memory 0.10); nothing to give back (on-prem 2 replicas, min 2; eks 2 nodes, min 2); schedule floor 2 eks nodes, 4 replicas (window opened 30m0s ago) held"},
		{"one more unit would bring on-prem to the up threshold",
			reasonBase(func(r *Reason) {
				r.Utilisation.Level, r.Utilisation.Value, r.Utilisation.For, r.Utilisation.Sustain = LevelBelow, 0.50, time.Hour, 15*time.Minute
				r.From, r.Want, r.Stuck = Sizes{2, 1, 2}, Sizes{2, 1, 2}, StuckUpThreshold
			}),
			"hold: cpu 0.50 below 0.55 for 1h0m0s (memory 0.50); giving back one more unit would bring on-prem to the up threshold"},
		{"both signals unknown",
			reasonBase(func(r *Reason) { r.Utilisation = Utilisation{Level: LevelUnknown, Up: 0.80, Down: 0.55} }),
			"hold: cpu and memory unknown, no scale-down on unknown signals"},
		{"one signal unknown, the other not above",
			reasonBase(func(r *Reason) {
				r.Utilisation = Utilisation{Level: LevelUnknown, Signal: "cpu", Value: 0.10, Other: "memory", Up: 0.80, Down: 0.55}
			}),
			"hold: memory unknown, cpu 0.10 not above 0.80, no scale-down on unknown signals"},
		{"the load's change: what drove it first, the figures last",
			reasonBase(func(r *Reason) {
				above(r, 0.95, 2*time.Minute, 2*time.Minute)
				r.Utilisation.OtherValue = Signal{}
				change(r, "up", Sizes{2, 0, 0}, Sizes{4, 1, 2})
				r.Shed = 0.25
			}),
			"up: cpu 0.95 above 0.80 for 2m0s (memory unknown), shedding 0.25; on-prem replicas 2→4 (spare), eks nodes 0→1, eks replicas 0→2"},
		{"a scale-down gives back",
			reasonBase(func(r *Reason) {
				r.Utilisation.Level, r.Utilisation.Value, r.Utilisation.For, r.Utilisation.Sustain = LevelBelow, 0.50, 15*time.Minute, 15*time.Minute
				r.Utilisation.OtherValue = Known(0.40)
				change(r, "down", Sizes{4, 2, 4}, Sizes{4, 1, 2})
				r.GiveBack = 0.20
			}),
			"down: cpu 0.50 below 0.55 for 15m0s (memory 0.40), giving back 0.20; eks nodes 2→1, eks replicas 4→2"},
		{"the floor raised despite a cooldown; the load only described",
			reasonBase(func(r *Reason) {
				floor(r, 10*time.Minute)
				r.Floor.Raised, r.CooldownLeft = true, 4*time.Minute
				change(r, "up", Sizes{2, 0, 0}, Sizes{2, 2, 4})
			}),
			"up: schedule floor 2 eks nodes, 4 replicas (window opens in 10m0s), raised despite cooldown (240 s left); cpu 0.70 between 0.55 and 0.80 (memory 0.50); eks nodes 0→2, eks replicas 0→4"},
		{"the load, the floor and the config's bounds all at once",
			reasonBase(func(r *Reason) {
				above(r, 0.85, 2*time.Minute, 2*time.Minute)
				floor(r, 10*time.Minute)
				r.Floor.Raised, r.Clamped, r.Shed = true, true, 0.15
				change(r, "up", Sizes{6, 0, 0}, Sizes{4, 2, 4})
			}),
			"up: cpu 0.85 above 0.80 for 2m0s (memory 0.50), shedding 0.15; schedule floor 2 eks nodes, 4 replicas (window opens in 10m0s); config bounds (min/max); on-prem replicas 6→4 (spare), eks nodes 0→2, eks replicas 0→4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.String(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// /status renders the same facts as the log line: durations in seconds, an unknown
// signal as null, the floor only while it is active, and the log line itself.
func TestReasonJSON(t *testing.T) {
	cases := []struct {
		name string
		r    Reason
		want string
	}{
		{"a change with the floor raised and the other signal unknown",
			reasonBase(func(r *Reason) {
				r.Utilisation.Level, r.Utilisation.Value, r.Utilisation.For, r.Utilisation.Sustain = LevelAbove, 0.85, 90*time.Second, 2*time.Minute
				r.Utilisation.OtherValue = Signal{}
				r.Floor = Floor{Active: true, Window: policyT0.Add(10 * time.Minute), EKSNodes: 2, EKSReplicas: 4, Raised: true}
				r.Bounds = r.Floor.raise(r.Bounds)
				r.Direction, r.From, r.Want, r.CooldownLeft = "up", Sizes{4, 0, 0}, Sizes{4, 2, 4}, 30*time.Second
			}),
			`{"at":"2026-09-01T08:00:00Z","direction":"up",` +
				`"reason":"up: schedule floor 2 eks nodes, 4 replicas (window opens in 10m0s), raised despite cooldown (30 s left); cpu 0.85 above 0.80 for 1m30s (memory unknown); eks nodes 0→2, eks replicas 0→4",` +
				`"from":{"onprem_replicas":4,"eks_nodes":0,"eks_replicas":0},"want":{"onprem_replicas":4,"eks_nodes":2,"eks_replicas":4},` +
				`"bounds":{"min":{"onprem_replicas":2,"eks_nodes":2,"eks_replicas":4},"max":{"onprem_replicas":4,"eks_nodes":5,"eks_replicas":10}},` +
				`"utilisation":{"level":"above","signal":"cpu","value":0.85,"other_signal":"memory","other_value":null,"for_seconds":90,"sustain_seconds":120,"up_threshold":0.8,"down_threshold":0.55},` +
				`"cooldown_left_seconds":30,` +
				`"schedule_floor":{"window":"2026-09-01T08:10:00Z","eks_nodes":2,"eks_replicas":4,"raised":true},"clamped_to_bounds":false}`},
		{"a hold on unknown signals, stuck at the minimum",
			reasonBase(func(r *Reason) {
				r.Utilisation = Utilisation{Level: LevelUnknown, Up: 0.80, Down: 0.55}
				r.From, r.Want, r.Stuck = Sizes{2, 0, 0}, Sizes{2, 0, 0}, StuckAtMinimum
			}),
			`{"at":"2026-09-01T08:00:00Z","direction":"hold",` +
				`"reason":"hold: cpu and memory unknown, no scale-down on unknown signals; nothing to give back (on-prem 2 replicas, min 2; eks 0 nodes, min 0)",` +
				`"from":{"onprem_replicas":2,"eks_nodes":0,"eks_replicas":0},"want":{"onprem_replicas":2,"eks_nodes":0,"eks_replicas":0},` +
				`"bounds":{"min":{"onprem_replicas":2,"eks_nodes":0,"eks_replicas":0},"max":{"onprem_replicas":4,"eks_nodes":5,"eks_replicas":10}},` +
				`"utilisation":{"level":"unknown","value":null,"other_value":null,"for_seconds":0,"sustain_seconds":0,"up_threshold":0.8,"down_threshold":0.55},` +
				`"cooldown_left_seconds":0,"stuck":"nothing to give back","clamped_to_bounds":false}`},
		{"a load-driven scale-up",
			reasonBase(func(r *Reason) {
				r.Utilisation.Level, r.Utilisation.Signal, r.Utilisation.Value, r.Utilisation.Other, r.Utilisation.OtherValue =
					LevelAbove, "memory", 0.91, "cpu", Known(0.5)
				r.Utilisation.For, r.Utilisation.Sustain = 2*time.Minute, 2*time.Minute
				r.Direction, r.From, r.Want, r.Shed = "up", Sizes{2, 0, 0}, Sizes{4, 1, 2}, 0.21
			}),
			`{"at":"2026-09-01T08:00:00Z","direction":"up",` +
				`"reason":"up: memory 0.91 above 0.80 for 2m0s (cpu 0.50), shedding 0.21; on-prem replicas 2→4 (spare), eks nodes 0→1, eks replicas 0→2",` +
				`"from":{"onprem_replicas":2,"eks_nodes":0,"eks_replicas":0},"want":{"onprem_replicas":4,"eks_nodes":1,"eks_replicas":2},` +
				`"bounds":{"min":{"onprem_replicas":2,"eks_nodes":0,"eks_replicas":0},"max":{"onprem_replicas":4,"eks_nodes":5,"eks_replicas":10}},` +
				`"utilisation":{"level":"above","signal":"memory","value":0.91,"other_signal":"cpu","other_value":0.5,"for_seconds":120,"sustain_seconds":120,"up_threshold":0.8,"down_threshold":0.55},` +
				`"cooldown_left_seconds":0,"shed":0.21,"clamped_to_bounds":false}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.r)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("got  %s\nwant %s", b, tc.want)
			}
			// A Decision is shown as its Reason.
			if d, _ := json.Marshal(Decision{Reason: tc.r}); string(d) != string(b) {
				t.Errorf("decision renders as %s", d)
			}
		})
	}
}
