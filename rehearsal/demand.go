package rehearsal

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/schoolservice/school/db"
)

// section is what the demand model knows of a section.
type section struct {
	ID, Course    int64
	Requires      []int64 // prerequisite courses
	Capacity      int
	Credits       int
	Prerequisites bool
	Meetings      []meeting
}

type meeting struct{ Weekday, Start, End int }

func (s section) conflicts(o section) bool {
	for _, a := range s.Meetings {
		for _, b := range o.Meetings {
			if a.Weekday == b.Weekday && a.Start < b.End && b.Start < a.End {
				return true
			}
		}
	}
	return false
}

// catalog is the current term's sections as the database holds them.
type catalog struct {
	term     int64
	sections []section
	byID     map[int64]int
}

func loadCatalog(rows []db.RehearsalSectionsRow, meetings []db.RehearsalMeetingsRow, prereqs []db.CoursePrerequisite, term int64) catalog {
	requires := map[int64][]int64{}
	for _, p := range prereqs {
		requires[p.CourseID] = append(requires[p.CourseID], p.PrerequisiteID)
	}
	c := catalog{term: term, byID: make(map[int64]int, len(rows))}
	for _, r := range rows {
		c.byID[r.ID] = len(c.sections)
		c.sections = append(c.sections, section{ID: r.ID, Course: r.CourseID, Capacity: int(r.Capacity),
			Credits: int(r.Credits), Prerequisites: r.Prerequisites > 0, Requires: requires[r.CourseID]})
	}
	for _, m := range meetings {
		if i, ok := c.byID[m.SectionID]; ok {
			c.sections[i].Meetings = append(c.sections[i].Meetings, meeting{int(m.Weekday), int(m.StartMinute), int(m.EndMinute)})
		}
	}
	return c
}

// Demand shapes what students want.
type Demand struct {
	Hot       int     // sections everyone wants
	HotFactor float64 // how many students put a hot section in their basket, per seat
	Want      int     // sections a student means to take
	Choices   int     // sections in the basket, in order of preference (alternates after Want)
	Waitlist  float64 // chance a student joins the waitlist of a full section
}

// plan is one student's morning: the basket in order of preference.
type plan struct {
	Choices  []int64
	Waitlist []bool // join the waitlist when Choices[i] is full
}

// drawPlans gives every student a basket. canTake says whether student who has the
// prerequisites of a section's course; nil means everyone has. A few hot sections (no prerequisites, as
// general-education favourites are) are wanted by HotFactor times as many students as
// they have seats; the rest of each basket comes from a long tail in which section k of
// the shuffled catalog is wanted in proportion to 1/(k+10). A student plans a timetable
// without clashes within their first Want picks (and within the credit limit of 18) but
// alternates are whatever comes next, clashes and all: students do not plan those as
// carefully, and the answers say so.
func drawPlans(c catalog, n int, d Demand, canTake func(who int, s section) bool, rng *rand.Rand) ([]plan, []int64) {
	var eligible []int
	for i, s := range c.sections {
		if !s.Prerequisites && len(s.Meetings) > 0 {
			eligible = append(eligible, i)
		}
	}
	rng.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	hot := eligible[:min(d.Hot, len(eligible))]
	hotIDs := make([]int64, len(hot))
	// Each hot section goes into HotFactor × capacity baskets (at most one per student).
	plans := make([]plan, n)
	picked := make([][]int, n)
	for k, i := range hot {
		hotIDs[k] = c.sections[i].ID
		want := min(n, int(math.Round(d.HotFactor*float64(c.sections[i].Capacity))))
		for _, who := range rng.Perm(n)[:want] {
			picked[who] = append(picked[who], i)
		}
	}
	isHot := map[int]bool{}
	for _, i := range hot {
		isHot[i] = true
	}
	tail := make([]int, 0, len(c.sections))
	for i := range c.sections {
		if !isHot[i] {
			tail = append(tail, i)
		}
	}
	rng.Shuffle(len(tail), func(i, j int) { tail[i], tail[j] = tail[j], tail[i] })
	cum := make([]float64, len(tail))
	total := 0.0
	for k := range tail {
		total += 1 / float64(k+10)
		cum[k] = total
	}
	drawTail := func() int {
		x := rng.Float64() * total
		return tail[sort.SearchFloat64s(cum, x)]
	}

	for who := range plans {
		// Hot sections first (they are why students come at the opening), in random order.
		first := picked[who]
		rng.Shuffle(len(first), func(i, j int) { first[i], first[j] = first[j], first[i] })
		var basket []int
		courses := map[int64]bool{}
		credits := 0
		fits := func(i int) bool {
			s := c.sections[i]
			if courses[s.Course] || credits+s.Credits > 18 {
				return false
			}
			for _, j := range basket[:min(len(basket), d.Want)] {
				if s.conflicts(c.sections[j]) {
					return false
				}
			}
			return true
		}
		add := func(i int) {
			basket = append(basket, i)
			courses[c.sections[i].Course] = true
			if len(basket) <= d.Want {
				credits += c.sections[i].Credits
			}
		}
		for _, i := range first {
			if len(basket) < d.Choices && fits(i) {
				add(i)
			}
		}
		for tries := 0; len(basket) < d.Choices && tries < 50*d.Choices; tries++ {
			i := drawTail()
			if len(basket) < d.Want && !fits(i) || slices.Contains(basket, i) {
				continue
			}
			// Students pick courses they have the prerequisites for; one pick in twenty
			// is a try without them.
			if canTake != nil && !canTake(who, c.sections[i]) && rng.IntN(20) != 0 {
				continue
			}
			add(i)
		}
		p := plan{}
		for _, i := range basket {
			p.Choices = append(p.Choices, c.sections[i].ID)
			p.Waitlist = append(p.Waitlist, rng.Float64() < d.Waitlist)
		}
		plans[who] = p
	}
	return plans, hotIDs
}

// arrivals spreads students around the opening: normally distributed with a standard
// deviation of spread/2, none before the start nor later than two spreads after opening.
func arrivals(n int, lead, spread time.Duration, rng *rand.Rand) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		at := lead + time.Duration(rng.NormFloat64()*float64(spread)/2)
		out[i] = max(0, min(at, lead+2*spread))
	}
	return out
}
