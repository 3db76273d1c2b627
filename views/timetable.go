package views

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/schoolservice/school/registration"
)

// SlotMinutes is the height of one timetable row. Meetings that start or end between
// rows are stretched to the rows around them.
const SlotMinutes = 15

// The grid always shows at least the usual school day, so a light week does not look
// like a different table.
const (
	gridLatestStart = 9 * 60
	gridEarliestEnd = 18 * 60
)

// TimetableSection is one enrolled section with its weekly meetings.
type TimetableSection struct {
	ID         int64
	CourseCode string
	Title      string
	Number     string
	Room       string
	Instructor string
	Credits    int
	Meetings   []Meeting
	// Basket: in the preview timetable, a section in the basket and not registered.
	Basket bool
}

// Label names the section as the pages print it: "CS101-01".
func (s TimetableSection) Label() string { return registration.SectionLabel(s.CourseCode, s.Number) }

// Timetable is the student's weekly timetable page.
type Timetable struct {
	Term     string
	Sections []TimetableSection
}

// TotalCredits is the sum of the sections' credits.
func (t Timetable) TotalCredits() int {
	n := 0
	for _, s := range t.Sections {
		n += s.Credits
	}
	return n
}

func formatMeetings(ctx context.Context, ms []Meeting) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = m.Format(ctx)
	}
	return strings.Join(parts, ", ")
}

// TimetableGrid is a table with rowspans: Rows hold only the cells that start in them.
type TimetableGrid struct {
	Days     []GridDay
	Rows     []GridRow
	Meetings int
}

// GridDay is a day column group. Lanes is more than 1 only when meetings overlap.
type GridDay struct {
	Weekday int
	Lanes   int
}

// GridRow is one slot of SlotMinutes; Minute is its start after midnight.
type GridRow struct {
	Minute int
	Cells  []GridCell
}

// Label is the row's time, "09:15".
func (r GridRow) Label() string { return fmt.Sprintf("%02d:%02d", r.Minute/60, r.Minute%60) }

// OnTheHour tells the rows that get a visible time label.
func (r GridRow) OnTheHour() bool { return r.Minute%60 == 0 }

// GridCell is a table cell; Section is nil for an empty one.
type GridCell struct {
	Weekday int
	RowSpan int
	Section *TimetableSection
	Meeting Meeting
	// Conflicts names the other sections meeting in the same minutes, in the sections' order.
	Conflicts []string
}

type placed struct {
	section    *TimetableSection
	meeting    Meeting
	first, end int // row indexes, end exclusive
	lane       int
	conflicts  []string
}

// NewTimetableGrid lays the sections' meetings out on a Mon–Fri grid (Sat and Sun only
// when something meets then). Enrolled sections cannot overlap, but the preview
// timetable's basket sections can (and data might): overlapping meetings go side by side
// in extra lanes of their day (the day header spans them) rather than in one cell, each
// naming the sections it conflicts with: each meeting stays one cell, and every row
// still has exactly one cell per lane, so the table never breaks.
func NewTimetableGrid(sections []TimetableSection) TimetableGrid {
	from, to := gridLatestStart, gridEarliestEnd
	byDay := map[int][]*placed{}
	count := 0
	for i := range sections {
		s := &sections[i]
		for _, m := range s.Meetings {
			if m.Weekday < 1 || m.Weekday > 7 || m.EndMinute <= m.StartMinute {
				continue
			}
			from = min(from, m.StartMinute/60*60)
			to = max(to, (m.EndMinute+59)/60*60)
			byDay[m.Weekday] = append(byDay[m.Weekday], &placed{section: s, meeting: m})
			count++
		}
	}
	for _, ps := range byDay {
		markConflicts(ps)
	}
	g := TimetableGrid{Meetings: count}
	for d := 1; d <= 7; d++ {
		if d <= 5 || len(byDay[d]) > 0 {
			g.Days = append(g.Days, GridDay{Weekday: d, Lanes: assignLanes(byDay[d], from)})
		}
	}

	// starts[day][row][lane] is the meeting whose cell begins there.
	starts := map[int]map[[2]int]*placed{}
	for d, ps := range byDay {
		starts[d] = map[[2]int]*placed{}
		for _, p := range ps {
			starts[d][[2]int{p.first, p.lane}] = p
		}
	}
	rows := (to - from) / SlotMinutes
	busyUntil := map[[2]int]int{} // (day, lane) -> first row not covered by a rowspan
	for r := range rows {
		row := GridRow{Minute: from + r*SlotMinutes}
		for _, d := range g.Days {
			for lane := range d.Lanes {
				key := [2]int{d.Weekday, lane}
				if busyUntil[key] > r {
					continue
				}
				if p := starts[d.Weekday][[2]int{r, lane}]; p != nil {
					row.Cells = append(row.Cells, GridCell{Weekday: d.Weekday, RowSpan: p.end - p.first, Section: p.section, Meeting: p.meeting, Conflicts: p.conflicts})
					busyUntil[key] = p.end
				} else {
					row.Cells = append(row.Cells, GridCell{Weekday: d.Weekday, RowSpan: 1})
				}
			}
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

// assignLanes turns a day's meetings into row ranges and gives each the first lane free
// at its start; it returns the number of lanes, at least 1. Overlap is judged on rows,
// not minutes: 9:00–9:50 and 9:55–10:45 share the 9:45 row and so need two lanes.
func assignLanes(ps []*placed, from int) int {
	for _, p := range ps {
		p.first = (p.meeting.StartMinute - from) / SlotMinutes
		p.end = (p.meeting.EndMinute - from + SlotMinutes - 1) / SlotMinutes
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].first != ps[j].first {
			return ps[i].first < ps[j].first
		}
		return ps[i].end > ps[j].end
	})
	var laneEnd []int
	for _, p := range ps {
		p.lane = -1
		for l, end := range laneEnd {
			if end <= p.first {
				p.lane, laneEnd[l] = l, p.end
				break
			}
		}
		if p.lane < 0 {
			p.lane = len(laneEnd)
			laneEnd = append(laneEnd, p.end)
		}
	}
	return max(1, len(laneEnd))
}

// markConflicts names, on each of a day's meetings, the other sections that meet in the
// same minutes (back to back is no conflict).
func markConflicts(ps []*placed) {
	for _, p := range ps {
		for _, o := range ps {
			label := o.section.Label()
			if o.section != p.section && Overlaps([]Meeting{p.meeting}, []Meeting{o.meeting}) && !slices.Contains(p.conflicts, label) {
				p.conflicts = append(p.conflicts, label)
			}
		}
	}
}

// SectionConflicts names, for each section, the other sections that meet at the same
// time as it in the week, in the sections' order.
func SectionConflicts(sections []TimetableSection) [][]string {
	out := make([][]string, len(sections))
	for i, s := range sections {
		for j, o := range sections {
			if i != j && Overlaps(s.Meetings, o.Meetings) {
				out[i] = append(out[i], o.Label())
			}
		}
	}
	return out
}
