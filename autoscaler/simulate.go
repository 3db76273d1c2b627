package autoscaler

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Trace is a recorded or imagined day: on-prem utilisation over time, as it would be
// without any burst capacity, and the registration windows that open.
type Trace struct {
	Points  []TracePoint
	Windows []time.Time
}

// TracePoint is the utilisation from At until the next point.
type TracePoint struct {
	At          time.Time
	Utilisation float64
}

// ReadTrace reads a CSV trace: rows "2027-02-15T09:00:00Z,0.42" give the utilisation from
// that time on, rows "window,2027-02-15T10:00:00Z" a window opening; "#" starts a comment.
func ReadTrace(r io.Reader) (Trace, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = 2
	var tr Trace
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Trace{}, fmt.Errorf("trace: %w", err)
		}
		if strings.TrimSpace(rec[0]) == "window" {
			at, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[1]))
			if err != nil {
				return Trace{}, fmt.Errorf("trace line %d: window time: %w", line, err)
			}
			tr.Windows = append(tr.Windows, at)
			continue
		}
		at, err := time.Parse(time.RFC3339, strings.TrimSpace(rec[0]))
		if err != nil {
			return Trace{}, fmt.Errorf("trace line %d: time: %w", line, err)
		}
		u, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
		if err != nil || u < 0 || u > 10 {
			return Trace{}, fmt.Errorf("trace line %d: utilisation %q: want a number from 0 to 10", line, rec[1])
		}
		tr.Points = append(tr.Points, TracePoint{At: at, Utilisation: u})
	}
	if len(tr.Points) < 2 {
		return Trace{}, errors.New("trace: want at least two utilisation rows")
	}
	sort.Slice(tr.Points, func(i, j int) bool { return tr.Points[i].At.Before(tr.Points[j].At) })
	sort.Slice(tr.Windows, func(i, j int) bool { return tr.Windows[i].Before(tr.Windows[j]) })
	return tr, nil
}

// SimStep is one evaluation of a simulation.
type SimStep struct {
	At       time.Time
	Demand   float64 // the trace's utilisation
	OnPrem   float64 // on-prem utilisation after the burst capacity ready by then (not capped at 1)
	Decision Decision
}

// SimResult sums a simulation up.
type SimResult struct {
	Steps        []SimStep
	NodeMinutes  float64 // EKS node-minutes asked for
	MinutesAbove float64 // minutes on-prem spent above the up-threshold
	Actions      int     // evaluations that changed a size
	Reversals    int     // actions in the opposite direction to the one before, within DownSustain of it
	// Leads: per window, how long before its opening the floor's EKS nodes had been asked
	// for without a break (0: not by the opening).
	Leads []time.Duration
	// Rushes: each time on-prem went above the up-threshold, how long until capacity
	// was first asked for and until on-prem was back at or under it.
	Rushes []SimRush
}

// SimRush is one crossing of the up-threshold.
type SimRush struct {
	At time.Time
	// FirstAsk is how long after the crossing the first scale-up was decided; -1 if none.
	FirstAsk time.Duration
	// ToCapacity is how long after the crossing on-prem was back at or under the
	// up-threshold; -1 if it never was within the trace.
	ToCapacity time.Duration
}

// SimOptions are the simulated world's constants.
type SimOptions struct {
	// Startup is how long a new EKS node takes to be ready.
	Startup time.Duration
	// CPUWindow is the range of the CPU rate the slow signals are read over (the
	// shipped rules: 2m); the CPU itself stops at 1.
	CPUWindow time.Duration
	// Old plays the loop as it was before the reconciliation (no ready-node cap, nodes
	// grown while others still join).
	Old bool
}

// OldPolicy is c with the policy this daemon shipped before the fast signals: a 30 s
// interval, a 2-minute sustain, a 5-minute cooldown, steps of 3 nodes and 6 replicas,
// and CPU and memory alone.
func OldPolicy(c Config) Config {
	c.Interval = Duration(30 * time.Second)
	c.Policy.UpSustain, c.Policy.Cooldown = Duration(2*time.Minute), Duration(5*time.Minute)
	c.Policy.MaxStepNodes, c.Policy.MaxStepReplicas = 3, 6
	c.Policy.InFlightPerReplica = 0
	return c
}

// Simulate replays a trace, second by second, through the real policy against simulated
// targets that do as asked, except that a new EKS node takes o.Startup to be ready.
// Burst capacity lowers on-prem utilisation by the policy's shares: each on-prem replica
// above the minimum by OnPremReplicaShare, each ready EKS node by EKSNodeShare. The
// policy sees CPU (and memory) as the rate over o.CPUWindow of the on-prem utilisation
// capped at 1, and the requests in flight as the demand itself, uncapped.
func Simulate(c Config, tr Trace, o SimOptions) SimResult {
	var res SimResult
	st := State{Current: Sizes{OnPremReplicas: c.OnPrem.MinReplicas, EKSNodes: c.EKS.MinNodes, EKSReplicas: c.EKSApp.MinReplicas}}
	var ready []time.Time // when each EKS node is ready, oldest first
	for range st.Current.EKSNodes {
		ready = append(ready, tr.Points[0].At)
	}
	cpuWindow := max(int(o.CPUWindow/time.Second), 1)
	cpu := make([]float64, 0, cpuWindow) // the last seconds' CPU, a ring
	interval := c.Interval.D()
	end := tr.Points[len(tr.Points)-1].At
	p := c.Policy
	var rush *SimRush
	start := tr.Points[0].At
	for now, i := start, 0; !now.After(end); now = now.Add(time.Second) {
		for i+1 < len(tr.Points) && !tr.Points[i+1].At.After(now) {
			i++
		}
		demand := tr.Points[i].Utilisation
		readyNodes := 0
		for _, r := range ready {
			if !r.After(now) {
				readyNodes++
			}
		}
		readyReplicas := min(st.Current.EKSReplicas, readyNodes*p.ReplicasPerNode)
		u := demand - float64(st.Current.OnPremReplicas-c.OnPrem.MinReplicas)*p.OnPremReplicaShare -
			float64(min(readyNodes, (readyReplicas+p.ReplicasPerNode-1)/max(p.ReplicasPerNode, 1)))*p.EKSNodeShare
		u = max(0, u)
		if len(cpu) == cpuWindow {
			cpu = cpu[1:]
		}
		cpu = append(cpu, min(u, 1))
		above := u > p.UpThreshold
		if above {
			res.MinutesAbove += 1.0 / 60
		}
		switch {
		case above && rush == nil:
			res.Rushes = append(res.Rushes, SimRush{At: now, FirstAsk: -1, ToCapacity: -1})
			rush = &res.Rushes[len(res.Rushes)-1]
		case !above && rush != nil:
			rush.ToCapacity = now.Sub(rush.At)
			rush = nil
		}
		res.NodeMinutes += float64(st.Current.EKSNodes) / 60
		if now.Sub(start)%interval != 0 {
			continue
		}

		var sum float64
		for _, v := range cpu {
			sum += v
		}
		rate := sum / float64(len(cpu))
		obs := Observations{At: now, CPU: Known(rate), Memory: Known(rate), ReadyNodes: Known(float64(readyNodes))}
		if slots := float64(p.InFlightPerReplica); slots > 0 {
			obs.InFlight = Known(u*float64(st.Current.OnPremReplicas)*slots + float64(readyReplicas)*slots)
		}
		for _, w := range tr.Windows {
			if w.After(now) { // the app's gauge: the next window still to open
				obs.NextWindow = w
				break
			}
		}
		if !o.Old {
			lim := Bounds{Max: Sizes{1 << 30, 1 << 30, readyNodes * p.ReplicasPerNode}}
			if readyNodes < st.Current.EKSNodes {
				lim.Max.EKSNodes = st.Current.EKSNodes // no more while some still join
			}
			obs.Limits = &lim
		}
		d := Decide(c, obs, st, now)
		res.Steps = append(res.Steps, SimStep{At: now, Demand: demand, OnPrem: u, Decision: d})
		if d.Direction == "up" && rush != nil && rush.FirstAsk < 0 {
			rush.FirstAsk = now.Sub(rush.At)
		}
		if d.Want != st.Current {
			res.Actions++
			if st.LastDirection != "" && d.Direction != st.LastDirection && d.fresh && now.Sub(st.LastAction) < p.DownSustain.D() {
				res.Reversals++
			}
			for range d.Want.EKSNodes - st.Current.EKSNodes {
				ready = append(ready, now.Add(o.Startup))
			}
			if d.Want.EKSNodes < st.Current.EKSNodes {
				ready = ready[:max(0, len(ready)-(st.Current.EKSNodes-d.Want.EKSNodes))]
			}
		}
		st = d.Next(true)
		st.Current = d.Want
	}
	floor := clamp(p.FloorNodes, c.EKS.MinNodes, c.EKS.MaxNodes)
	for _, w := range tr.Windows {
		// Walk back from the opening while the floor was met.
		lead := time.Duration(0)
		for k := len(res.Steps) - 1; k >= 0; k-- {
			s := res.Steps[k]
			if s.At.After(w) {
				continue
			}
			if s.Decision.Want.EKSNodes < floor {
				break
			}
			lead = w.Sub(s.At)
		}
		res.Leads = append(res.Leads, lead)
	}
	return res
}

// Print writes the timeline (only the evaluations that changed something) and the summary.
func (r SimResult) Print(w io.Writer) {
	for _, s := range r.Steps {
		if s.Decision.Want != s.Decision.From || s.Decision.Direction != "hold" {
			fmt.Fprintf(w, "%s demand %.2f on-prem %.2f  %s\n", s.At.Format(time.TimeOnly), s.Demand, s.OnPrem, s.Decision.Reason)
		}
	}
	fmt.Fprintf(w, "summary: %s\n", r.Summary())
}

// Summary is the result in one line.
func (r SimResult) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%.0f EKS node-minutes, %.1f minutes on-prem above the threshold, %d scale actions, %d reversals within the down-sustain",
		r.NodeMinutes, r.MinutesAbove, r.Actions, r.Reversals)
	for i, l := range r.Leads {
		fmt.Fprintf(&b, ", window %d: capacity asked %s before opening", i+1, l)
	}
	for _, ru := range r.Rushes {
		ask, back := "never", "not within the trace"
		if ru.FirstAsk >= 0 {
			ask = ru.FirstAsk.String()
		}
		if ru.ToCapacity >= 0 {
			back = ru.ToCapacity.String()
		}
		if ru.ToCapacity >= 0 && ru.ToCapacity < 10*time.Second && ru.FirstAsk < 0 {
			continue // a blip the capacity in place absorbed
		}
		fmt.Fprintf(&b, "; rush at %s: first capacity asked after %s, on-prem back under the threshold after %s", ru.At.Format(time.TimeOnly), ask, back)
	}
	return b.String()
}
