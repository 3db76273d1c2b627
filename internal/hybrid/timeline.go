package hybrid

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/schoolservice/school/rehearsal"
)

const step = 10 * time.Second

// timeline builds the report's timeline and the drill's checks from what was watched
// each second and from nginx's access log.
func timeline(d DrillOptions, start, rushEnd time.Time, samples []sample, decs []logged, reqs []served, faults []drillFault, stopErr error) *rehearsal.Timeline {
	t := &rehearsal.Timeline{
		Title: "Hybrid topology: on-prem first, then the spare, then EKS",
		Step:  step,
		Columns: []string{"util", "in flight", "on-prem", "EKS repl", "nodes", "onprem/spare/eks req",
			"reg p99 onprem", "reg p99 spare", "reg p99 eks", "5xx"},
		Notes: []string{
			fmt.Sprintf("on-prem capacity set low for a 2-core machine: max_conns=%d per on-prem instance (shipped 64), so on-prem's limit is %d with the spare, %d without",
				d.MaxConns, 3*d.MaxConns, 2*d.MaxConns),
			fmt.Sprintf("autoscaler: no schedule floor (floor_nodes 0: the drill's window opens within a minute), interval %s (shipped 10s), cooldown %s, fast_sustain %s, up/down_sustain %s; Prometheus scrape and rules every %s (shipped 15s); a node is Ready %s after it is asked for, and holds %d EKS instances",
				d.Interval, d.Cooldown, d.FastSustain, d.DownSustain, d.Scrape, d.NodeStartup, d.ReplicasPerNode),
			"cpu_query reads the on-prem instances' own CPU, not node_exporter's (the whole shared machine's): " + CPUQuery,
			"util is the autoscaler's on-prem utilisation (its decision's signal); in flight is nginx's stub_status Writing; on-prem is replicas synced/ready; EKS repl running/ready; nodes ready/asked",
		},
	}
	at := func(x time.Time) time.Duration { return x.Sub(start) }
	end := start
	if len(samples) > 0 {
		end = samples[len(samples)-1].at
	}
	for from := start; from.Before(end); from = from.Add(step) {
		to := from.Add(step)
		util, inflight := -1.0, 0
		var last State
		for _, s := range samples {
			if s.at.Before(from) || !s.at.Before(to) {
				continue
			}
			if s.hasDec && s.dec.Utilisation.Value != nil {
				util = max(util, *s.dec.Utilisation.Value)
			}
			inflight, last = max(inflight, s.writing), s.state
		}
		count := map[string]int{}
		lat := map[string][]time.Duration{}
		errs := 0
		for _, r := range reqs {
			if r.start.Before(from) || !r.start.Before(to) {
				continue
			}
			count[r.tier]++
			if r.status >= 500 {
				errs++
			}
			if r.method == "POST" && strings.HasPrefix(r.path, "/registrations") {
				lat[r.tier] = append(lat[r.tier], r.end.Sub(r.start))
			}
		}
		u := "?"
		if util >= 0 {
			u = fmt.Sprintf("%.2f", util)
		}
		total := max(count["onprem"]+count["spare"]+count["eks"], 1)
		t.Rows = append(t.Rows, rehearsal.TimelineRow{At: at(from), Cells: []string{
			u, fmt.Sprint(inflight),
			fmt.Sprintf("%d/%d", last.OnPremDeployed, last.OnPremReady),
			fmt.Sprintf("%d/%d", last.EKSRunning, last.EKSReady),
			fmt.Sprintf("%d/%d", last.NodesReady, last.NodesDesired),
			fmt.Sprintf("%d%%/%d%%/%d%% of %d", 100*count["onprem"]/total, 100*count["spare"]/total, 100*count["eks"]/total,
				count["onprem"]+count["spare"]+count["eks"]),
			p99(lat["onprem"]), p99(lat["spare"]), p99(lat["eks"]), fmt.Sprint(errs),
		}})
	}

	// The autoscaler's decisions that acted, and those that held for a reason worth
	// seeing (unknown signals, a target failing), once per change of reason.
	lastHold := ""
	for _, l := range decs {
		if l.Direction != "hold" {
			t.Events = append(t.Events, rehearsal.TimelineEvent{At: at(l.At), Text: l.Reason})
			lastHold = ""
			continue
		}
		kind := holdKind(l.Reason)
		if kind != "" && kind != lastHold {
			t.Events = append(t.Events, rehearsal.TimelineEvent{At: at(l.At), Text: l.Reason})
		}
		lastHold = kind
	}
	for _, f := range faults {
		t.Events = append(t.Events,
			rehearsal.TimelineEvent{At: f.at, Text: fmt.Sprintf("drill: %s fault starts (%s)", f.kind, f.dur)},
			rehearsal.TimelineEvent{At: f.at + f.dur, Text: fmt.Sprintf("drill: %s fault ends", f.kind)})
	}
	t.Events = append(t.Events, rehearsal.TimelineEvent{At: at(rushEnd), Text: "the rehearsal's students are done"})
	slices.SortStableFunc(t.Events, func(a, b rehearsal.TimelineEvent) int { return int(a.At - b.At) })

	t.Checks = checks(d, samples, decs, reqs, faults, stopErr, at)
	return t
}

// holdKind names the holds the timeline shows: those on unknown signals or failing
// targets (a fault drill's), not the ordinary ones.
func holdKind(reason string) string {
	for _, k := range []string{"unknown", "fail", "backoff", "busy", "throttl", "refused"} {
		if strings.Contains(reason, k) {
			return k
		}
	}
	return ""
}

func p99(ds []time.Duration) string {
	if len(ds) == 0 {
		return "-"
	}
	slices.Sort(ds)
	return fmt.Sprintf("%dms", ds[(len(ds)*99)/100].Milliseconds())
}

func checks(d DrillOptions, samples []sample, decs []logged, reqs []served, faults []drillFault, stopErr error, at func(time.Time) time.Duration) []rehearsal.TimelineCheck {
	var out []rehearsal.TimelineCheck
	add := func(name string, ok bool, format string, args ...any) {
		out = append(out, rehearsal.TimelineCheck{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}

	var firstSpare, firstEKS, lastFail time.Time
	eks, below, minIn, afterFail := 0, 0, -1, 0
	// nginx sends to the backup only when every on-prem server is at max_conns or
	// failed; the spare is failed while it has no replica, so at least the two always-up
	// servers are full. The log's times are to the millisecond: one request's slack.
	limit := 2*d.MaxConns - 1
	for _, r := range reqs {
		if r.onpremFailed {
			lastFail = r.end
		}
		switch r.tier {
		case "spare":
			if firstSpare.IsZero() {
				firstSpare = r.start
			}
		case "eks":
			if firstEKS.IsZero() {
				firstEKS = r.start
			}
			if r.retried {
				continue // sent to EKS after an on-prem server failed it: not overflow
			}
			eks++
			// Within fail_timeout of an on-prem failure the server may be out: nginx then
			// sends to the backup below the limit, by design (passive health).
			if !lastFail.IsZero() && r.start.Sub(lastFail) < 10*time.Second {
				afterFail++
				continue
			}
			n := onPremInFlight(reqs, r.start)
			if minIn < 0 || n < minIn {
				minIn = n
			}
			if n < limit {
				below++
			}
		}
	}
	switch {
	case firstEKS.IsZero() && firstSpare.IsZero():
		add("spare before EKS", false, "neither the spare nor EKS took a request: the load did not pass on-prem's limit")
	case firstEKS.IsZero():
		add("spare before EKS", true, "the spare took its first request at %s; EKS took none", at(firstSpare).Round(100*time.Millisecond))
	case firstSpare.IsZero():
		add("spare before EKS", false, "EKS took requests from %s, the spare none", at(firstEKS).Round(100*time.Millisecond))
	default:
		add("spare before EKS", firstSpare.Before(firstEKS), "first request to the spare at %s, to EKS at %s",
			at(firstSpare).Round(100*time.Millisecond), at(firstEKS).Round(100*time.Millisecond))
	}
	add("EKS only past on-prem's limit", below == 0, "%d requests overflowed to EKS (%d of them within 10 s of an on-prem server failing one, passive health's fail_timeout); for the others, on-prem's requests in flight when each started: at least %d (limit %d of the two always-up nodes, less one for the log's rounding); %d below",
		eks, afterFail, minIn, limit, below)

	// Capacity asked within one evaluation interval of the crossing: the first "up"
	// comes at most fast_sustain (the policy's deliberate wait) plus one interval after
	// the utilisation passed the threshold.
	var up *logged
	for i := range decs {
		if decs[i].Direction == "up" {
			up = &decs[i]
			break
		}
	}
	if up == nil {
		add("capacity asked within one interval", false, "the autoscaler never scaled up")
	} else if m := aboveFor.FindStringSubmatch(up.Reason); m == nil {
		add("capacity asked within one interval", false, "the first up was not for load: %s", up.Reason)
	} else if waited, err := time.ParseDuration(m[3]); err != nil {
		add("capacity asked within one interval", false, "the first up's wait %q: %v", m[3], err)
	} else {
		// The policy asks at the first evaluation after the sustain; its clock is the
		// evaluations' own, which slip on a busy machine: half an interval of slack.
		bound := d.FastSustain + d.Interval
		add("capacity asked within one interval", waited <= bound+d.Interval/2,
			"first up at %s, %s after %s passed %s (bound: fast_sustain %s + interval %s): %s",
			at(up.At).Round(time.Second), waited.Round(100*time.Millisecond), m[1], m[2], d.FastSustain, d.Interval, up.Reason)
	}

	fives := 0
	for _, r := range reqs {
		if r.status >= 500 {
			fives++
		}
	}
	add("0 5xx", fives == 0, "%d of %d requests through nginx answered 5xx", fives, len(reqs))

	if len(samples) > 0 {
		s := samples[len(samples)-1].state
		add("back to the floor", s.OnPremDeployed == 2 && s.EKSDeployed == 0 && s.NodesDesired == 0 && s.EKSRunning == 0,
			"at the end: on-prem %d, EKS replicas %d (running %d), nodes asked %d", s.OnPremDeployed, s.EKSDeployed, s.EKSRunning, s.NodesDesired)
	}
	for _, f := range faults {
		downs := 0
		for _, l := range decs {
			if l.Direction == "down" && !l.At.Before(f.from) && l.At.Before(f.to) {
				downs++
			}
		}
		var refused, throttled int
		if len(samples) > 0 {
			s := samples[len(samples)-1].state
			refused, throttled = s.ArgoSyncsRefused, s.MotoThrottled
		}
		detail := fmt.Sprintf("%d scale-downs while it lasted; Argo CD syncs refused %d, moto calls throttled %d", downs, refused, throttled)
		switch f.kind {
		case "prometheus":
			// Every signal unknown: nothing may be given back.
			add("prometheus fault: no scale-down", downs == 0, "%s", detail)
		case "argocd":
			// The signals are known, so a scale-down may be right; what must hold is that
			// the fault was really met, and the other checks (0 5xx, invariants, the floor).
			add("argocd fault: syncs refused", refused > 0, "%s", detail)
		case "moto":
			add("moto fault: calls throttled", throttled > 0, "%s", detail)
		}
	}
	add("down leaves nothing behind", stopErr == nil, "%v", errOrNone(stopErr))
	return out
}

func errOrNone(err error) string {
	if err == nil {
		return "every process ended"
	}
	return err.Error()
}
