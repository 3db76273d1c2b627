package rehearsal

import (
	"math/rand/v2"
	"testing"
	"time"
)

// testCatalog is 200 sections of 100 courses, capacities 20 to 60, meeting at one of
// ten times; every fourth course has a prerequisite.
func testCatalog() catalog {
	c := catalog{byID: map[int64]int{}}
	for i := range 200 {
		s := section{ID: int64(1000 + i), Course: int64(i / 2), Capacity: 20 + 10*(i%5), Credits: 1 + i%4,
			Prerequisites: (i/2)%4 == 0, Meetings: []meeting{{Weekday: 1 + i%5, Start: 540 + 90*(i%2), End: 540 + 90*(i%2) + 75}}}
		c.byID[s.ID] = len(c.sections)
		c.sections = append(c.sections, s)
	}
	return c
}

func TestDrawPlans(t *testing.T) {
	c := testCatalog()
	d := Demand{Hot: 5, HotFactor: 10, Want: 4, Choices: 7, Waitlist: 0.5}
	const n = 3000
	plans, hot := drawPlans(c, n, d, nil, rand.New(rand.NewPCG(1, 2)))
	if len(plans) != n || len(hot) != d.Hot {
		t.Fatalf("%d plans, %d hot sections; want %d and %d", len(plans), len(hot), n, d.Hot)
	}
	wanted := map[int64]int{}
	for who, p := range plans {
		if len(p.Choices) != d.Choices || len(p.Waitlist) != len(p.Choices) {
			t.Fatalf("student %d: %d choices, %d waitlist flags; want %d", who, len(p.Choices), len(p.Waitlist), d.Choices)
		}
		seen := map[int64]bool{}
		credits := 0
		for i, id := range p.Choices {
			if seen[id] {
				t.Fatalf("student %d has section %d twice", who, id)
			}
			seen[id] = true
			wanted[id]++
			s := c.sections[c.byID[id]]
			if i >= d.Want {
				continue
			}
			credits += s.Credits
			for _, other := range p.Choices[:i] {
				o := c.sections[c.byID[other]]
				if s.conflicts(o) || s.Course == o.Course {
					t.Errorf("student %d: first choices %d and %d clash or share a course", who, id, other)
				}
			}
		}
		if credits > 18 {
			t.Errorf("student %d plans %d credits", who, credits)
		}
	}
	for _, id := range hot {
		s := c.sections[c.byID[id]]
		if s.Prerequisites {
			t.Errorf("hot section %d has prerequisites", id)
		}
		// Each hot section is drawn into HotFactor × capacity baskets; a few fall out
		// where they clash with another hot pick.
		if want := int(d.HotFactor) * s.Capacity; wanted[id] > want || wanted[id] < want/2 {
			t.Errorf("hot section %d (capacity %d) is in %d baskets, want about %d", id, s.Capacity, wanted[id], want)
		}
	}
}

func TestArrivalsAroundTheOpening(t *testing.T) {
	lead, spread := 60*time.Second, 40*time.Second
	a := arrivals(10000, lead, spread, rand.New(rand.NewPCG(3, 4)))
	before := 0
	for _, at := range a {
		if at < 0 || at > lead+2*spread {
			t.Fatalf("arrival at %s is outside [0, %s]", at, lead+2*spread)
		}
		if at < lead {
			before++
		}
	}
	if before < 4500 || before > 5500 {
		t.Errorf("%d of 10000 arrive before the opening; want about half", before)
	}
}

func TestParseFault(t *testing.T) {
	cases := []struct {
		in   string
		want Fault
		bad  bool
	}{
		{in: "mariadb", want: Fault{Kind: FaultMariaDB, At: 20 * time.Second, For: 10 * time.Second}},
		{in: "ldap@5s", want: Fault{Kind: FaultLDAP, At: 5 * time.Second, For: 10 * time.Second}},
		{in: "instance@1m+3s", want: Fault{Kind: FaultInstance, At: time.Minute, For: 3 * time.Second}},
		{in: "db-writer@30s", want: Fault{Kind: FaultDBWriter, At: 30 * time.Second, For: 10 * time.Second}},
		{in: "disk@5s", bad: true},
		{in: "mariadb@-5s", bad: true},
		{in: "mariadb@5s+x", bad: true},
	}
	for _, tc := range cases {
		got, err := ParseFault(tc.in)
		if tc.bad != (err != nil) || !tc.bad && got != tc.want {
			t.Errorf("ParseFault(%q) = %+v, %v; want %+v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
