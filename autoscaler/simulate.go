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
		if err != nil || u < 0 || u > 2 {
			return Trace{}, fmt.Errorf("trace line %d: utilisation %q: want a number from 0 to 2", line, rec[1])
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
	OnPrem   float64 // on-prem utilisation after the burst capacity ready by then
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
}

// Simulate replays a trace through the real policy against simulated targets that do as
// asked, except that a new EKS node takes startup to be ready. Burst capacity lowers
// on-prem utilisation by the policy's shares: each on-prem replica above the minimum by
// OnPremReplicaShare, each ready EKS node by EKSNodeShare.
func Simulate(c Config, tr Trace, startup time.Duration) SimResult {
	var res SimResult
	st := State{Current: Sizes{OnPremReplicas: c.OnPrem.MinReplicas, EKSNodes: c.EKS.MinNodes, EKSReplicas: c.EKSApp.MinReplicas}}
	var ready []time.Time // when each EKS node beyond the first is ready, oldest first
	for range st.Current.EKSNodes {
		ready = append(ready, tr.Points[0].At)
	}
	interval := c.Interval.D()
	end := tr.Points[len(tr.Points)-1].At
	for now, i := tr.Points[0].At, 0; !now.After(end); now = now.Add(interval) {
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
		u := demand - float64(st.Current.OnPremReplicas-c.OnPrem.MinReplicas)*c.Policy.OnPremReplicaShare -
			float64(readyNodes)*c.Policy.EKSNodeShare
		u = max(0, u)
		obs := Observations{At: now, CPU: Known(u), Memory: Known(u)}
		for _, w := range tr.Windows {
			if w.After(now) { // the app's gauge: the next window still to open
				obs.NextWindow = w
				break
			}
		}
		d := Decide(c, obs, st, now)
		res.Steps = append(res.Steps, SimStep{At: now, Demand: demand, OnPrem: u, Decision: d})
		if u > c.Policy.UpThreshold {
			res.MinutesAbove += interval.Minutes()
		}
		if d.Want != st.Current {
			res.Actions++
			if st.LastDirection != "" && d.Direction != st.LastDirection && now.Sub(st.LastAction) < c.Policy.DownSustain.D() {
				res.Reversals++
			}
			for range d.Want.EKSNodes - st.Current.EKSNodes {
				ready = append(ready, now.Add(startup))
			}
			if d.Want.EKSNodes < st.Current.EKSNodes {
				ready = ready[:max(0, len(ready)-(st.Current.EKSNodes-d.Want.EKSNodes))]
			}
		}
		st = d.Next(true)
		st.Current = d.Want
		res.NodeMinutes += float64(st.Current.EKSNodes) * interval.Minutes()
	}
	floor := clamp(c.Policy.FloorNodes, c.EKS.MinNodes, c.EKS.MaxNodes)
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
			fmt.Fprintf(w, "%s demand %.2f on-prem %.2f  %s\n", s.At.Format("15:04"), s.Demand, s.OnPrem, s.Decision.Reason)
		}
	}
	fmt.Fprintf(w, "summary: %.0f EKS node-minutes, %.0f minutes on-prem above the threshold, %d scale actions, %d reversals within the down-sustain",
		r.NodeMinutes, r.MinutesAbove, r.Actions, r.Reversals)
	for i, l := range r.Leads {
		fmt.Fprintf(w, ", window %d: capacity asked %s before opening", i+1, l)
	}
	fmt.Fprintln(w)
}
