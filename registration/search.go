package registration

import (
	"cmp"
	"slices"
	"strings"
)

// Search is what a student looks for in the catalog page: the term's sections whose
// course code, title (either language) or instructor contains Keyword (case folded), of
// one department (its code), one credit value, one course type (이수구분), one class year
// (학년: the courses meant for that year), on one weekday and in one period (요일·교시),
// and open to other departments, when those are set.
type Search struct {
	TermID     int64
	Keyword    string
	Department string
	Credits    int
	CourseType string
	ClassYear  int
	// Weekday (1 Monday … 7 Sunday) and Period (see PeriodStart) keep the sections that
	// meet then: on that day, in that period, or in that period on that day.
	Weekday, Period int
	OpenToOthers    bool   // only the courses other departments' students may take
	CourseCode      string // only one course's sections (its page)
	// Only, when not nil, keeps just the sections it holds (the open ones, read live).
	Only map[int64]bool
}

// Periods is how many periods (교시) a day has for the filter: period 1 starts at 09:00,
// each is an hour, the last (12) starts at 20:00.
const Periods = 12

// PeriodStart is the minute after midnight period p (1 to Periods) starts at.
func PeriodStart(p int) int { return 8*60 + p*60 }

// meetsAt reports whether the section meets on weekday and in period, each 0 for any.
func (s *catalogSection) meetsAt(weekday, period int) bool {
	if weekday == 0 && period == 0 {
		return true
	}
	for _, m := range s.meetings {
		if weekday != 0 && m.Weekday != weekday {
			continue
		}
		if period != 0 && !(m.StartMinute < PeriodStart(period)+60 && PeriodStart(period) < m.EndMinute) {
			continue
		}
		return true
	}
	return false
}

// matches reports whether s passes q's filters other than the keyword and the term.
func (q *Search) matches(s *catalogSection) bool {
	return (q.Department == "" || s.Department == q.Department) &&
		(q.Credits == 0 || s.Credits == q.Credits) &&
		(q.CourseType == "" || s.CourseType == q.CourseType) &&
		(q.ClassYear == 0 || s.ClassYear == q.ClassYear) &&
		(!q.OpenToOthers || s.OpenToOthers) &&
		(q.CourseCode == "" || s.CourseCode == q.CourseCode) &&
		(q.Only == nil || q.Only[s.ID]) &&
		s.meetsAt(q.Weekday, q.Period)
}

// Listing is a section as the catalog page lists it: what it is and when it meets. Its
// seats are not here: the page reads them live.
type Listing struct {
	Section
	Meetings []Meeting
}

// Search lists one page of the sections q matches, in course code then section number
// order, and how many match in all. On registration morning the catalog page is the
// first thing every admitted student loads; searching the copy in memory spares the
// database a join and sort of the whole term per page view (about 4 ms of mariadbd's CPU
// for 2,000 sections, against a few hundred microseconds for the page's other reads).
func (c *Catalog) Search(q Search, offset, limit int) (page []Listing, total int) {
	kw := strings.ToLower(q.Keyword)
	for _, s := range c.ordered() {
		if s.termID != q.TermID || !q.matches(s) || kw != "" && !strings.Contains(s.folded, kw) {
			continue
		}
		if total >= offset && len(page) < limit {
			page = append(page, Listing{Section: s.Section, Meetings: s.meetings})
		}
		total++
	}
	return page, total
}

// ordered is every section in course code then section number order, sorted once per
// catalog.
func (c *Catalog) ordered() []*catalogSection {
	c.sortOnce.Do(func() {
		c.sorted = make([]*catalogSection, 0, len(c.sections))
		for _, s := range c.sections {
			c.sorted = append(c.sorted, s)
		}
		slices.SortFunc(c.sorted, func(a, b *catalogSection) int {
			return cmp.Or(strings.Compare(a.CourseCode, b.CourseCode), strings.Compare(a.Number, b.Number), cmp.Compare(a.ID, b.ID))
		})
	})
	return c.sorted
}
