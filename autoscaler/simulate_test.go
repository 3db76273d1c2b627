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
	res := Simulate(c, loadTrace(t, "testdata/registration_morning.csv"), 3*time.Minute)
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
	res := Simulate(c, loadTrace(t, "testdata/oscillating.csv"), 3*time.Minute)
	if res.Reversals != 0 {
		t.Errorf("%d reversals within the down-sustain on an oscillating load", res.Reversals)
	}
	var b strings.Builder
	res.Print(&b)
	t.Log(b.String()[strings.LastIndex(b.String(), "summary:"):])
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
