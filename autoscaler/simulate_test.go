package autoscaler

import (
	"os"
	"strings"
	"testing"
	"time"
)

func simConfig() Config {
	c := Defaults()
	c.Interval = Duration(time.Minute)
	c.OnPrem.MinReplicas, c.OnPrem.MaxReplicas = 2, 4
	c.EKS.MinNodes, c.EKS.MaxNodes = 0, 10
	c.EKSApp.MinReplicas, c.EKSApp.MaxReplicas = 0, 20
	return c
}

func loadTrace(t *testing.T, path string) Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := ReadTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestSimulateRegistrationMorning(t *testing.T) {
	c := simConfig()
	res := Simulate(c, loadTrace(t, "testdata/registration_morning.csv"), SimOptions{Startup: 3 * time.Minute, CPUWindow: 2 * time.Minute})
	if len(res.Leads) != 1 || res.Leads[0] < c.Policy.LeadTime.D() {
		t.Errorf("capacity asked %v before the opening, want at least the lead time %s", res.Leads, c.Policy.LeadTime.D())
	}
	if res.NodeMinutes <= 0 || res.Actions == 0 {
		t.Errorf("no burst bought: %+v", res)
	}
	// Everything is given back by the quiet afternoon.
	last := res.Steps[len(res.Steps)-1].Decision.Want
	if last.EKSNodes != c.EKS.MinNodes {
		t.Errorf("still %d EKS nodes at the end of the day", last.EKSNodes)
	}
	var b strings.Builder
	res.Print(&b)
	t.Log(b.String()[strings.LastIndex(b.String(), "summary:"):])
}

func TestSimulateOscillatingLoad(t *testing.T) {
	c := simConfig()
	res := Simulate(c, loadTrace(t, "testdata/oscillating.csv"), SimOptions{Startup: 3 * time.Minute, CPUWindow: 2 * time.Minute})
	if res.Reversals != 0 {
		t.Errorf("%d reversals within the down-sustain on an oscillating load", res.Reversals)
	}
	var b strings.Builder
	res.Print(&b)
	t.Log(b.String()[strings.LastIndex(b.String(), "summary:"):])
}

// The registration-morning rush at 1 s resolution, with the shipped settings (fast
// signals, a 10 s interval) beside the old policy (CPU and memory only, a 30 s interval,
// 2-minute sustain, 5-minute cooldown): the first capacity is asked within one interval
// of on-prem crossing the threshold, and on-prem is back under it sooner.
func TestSimulateRushAtOneSecond(t *testing.T) {
	c := simConfig()
	c.Interval, c.Policy.Cooldown = Duration(10*time.Second), Duration(time.Minute)
	c.Policy.MaxStepNodes, c.Policy.MaxStepReplicas = 10, 20
	tr := loadTrace(t, "testdata/registration_morning_1s.csv")
	o := SimOptions{Startup: 3 * time.Minute, CPUWindow: 2 * time.Minute}
	res := Simulate(c, tr, o)
	o.Old = true
	old := Simulate(OldPolicy(c), tr, o)
	t.Logf("new: %s", res.Summary())
	t.Logf("old: %s", old.Summary())
	rush, oldRush := firstRush(t, res), firstRush(t, old)
	if rush.FirstAsk < 0 || rush.FirstAsk > c.Interval.D() {
		t.Errorf("first capacity asked %s after the crossing, want within one interval (%s)", rush.FirstAsk, c.Interval.D())
	}
	if rush.ToCapacity < 0 || (oldRush.ToCapacity >= 0 && rush.ToCapacity >= oldRush.ToCapacity) {
		t.Errorf("on-prem back under the threshold after %s, the old policy after %s: want sooner", rush.ToCapacity, oldRush.ToCapacity)
	}
	if res.Reversals != 0 {
		t.Errorf("%d reversals", res.Reversals)
	}
}

// firstRush is the first crossing that asked for capacity (the floor may absorb
// blips before it).
func firstRush(t *testing.T, r SimResult) SimRush {
	t.Helper()
	for _, ru := range r.Rushes {
		if ru.FirstAsk >= 0 || ru.ToCapacity < 0 || ru.ToCapacity > time.Minute {
			return ru
		}
	}
	t.Fatalf("no rush in %+v", r.Rushes)
	return SimRush{}
}

func TestReadTraceRefuses(t *testing.T) {
	for _, in := range []string{
		"2027-02-15T09:00:00Z,0.5\n",                         // one row
		"2027-02-15T09:00:00Z,abc\n2027-02-15T09:05:00Z,1\n", // not a number
		"yesterday,0.5\n2027-02-15T09:05:00Z,1\n",            // not a time
		"window,soon\n2027-02-15T09:00:00Z,0.5\n2027-02-15T09:05:00Z,1\n",
	} {
		if _, err := ReadTrace(strings.NewReader(in)); err == nil {
			t.Errorf("accepted %q", in)
		}
	}
}
