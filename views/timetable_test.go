package views

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func sec(code string, ms ...Meeting) TimetableSection {
	return TimetableSection{CourseCode: code, Number: "01", Meetings: ms}
}

func at(day, startH, startM, endH, endM int) Meeting {
	return Meeting{Weekday: day, StartMinute: startH*60 + startM, EndMinute: endH*60 + endM}
}

// layout walks the grid the way a browser lays out the table and describes where each
// meeting landed: "CS101 day1/lane0 09:00+5". It fails the test if any row does not fill
// exactly one cell per lane, which is what a broken rowspan table looks like.
func layout(t *testing.T, g TimetableGrid) []string {
	t.Helper()
	type col struct{ day, lane int }
	var cols []col
	for _, d := range g.Days {
		for l := range d.Lanes {
			cols = append(cols, col{d.Weekday, l})
		}
	}
	busy := make([]int, len(cols)) // first row each column is free again
	var out []string
	for r, row := range g.Rows {
		c := 0
		for _, cell := range row.Cells {
			for c < len(cols) && busy[c] > r {
				c++
			}
			if c == len(cols) {
				t.Fatalf("row %s: more cells than columns", row.Label())
			}
			if cell.Weekday != cols[c].day {
				t.Fatalf("row %s: a day %d cell lands in day %d's column", row.Label(), cell.Weekday, cols[c].day)
			}
			if cell.RowSpan < 1 || r+cell.RowSpan > len(g.Rows) {
				t.Fatalf("row %s: rowspan %d runs off the table", row.Label(), cell.RowSpan)
			}
			busy[c] = r + cell.RowSpan
			if cell.Section != nil {
				out = append(out, fmt.Sprintf("%s day%d/lane%d %s+%d", cell.Section.CourseCode, cols[c].day, cols[c].lane, row.Label(), cell.RowSpan))
			}
			c++
		}
		for ; c < len(cols); c++ {
			if busy[c] <= r {
				t.Fatalf("row %s: column %d has no cell", row.Label(), c)
			}
		}
	}
	return out
}

func TestTimetableGrid(t *testing.T) {
	cases := []struct {
		name     string
		sections []TimetableSection
		from, to string // first row's label, last row's label
		days     string // weekday/lanes of each day column
		want     []string
	}{
		{
			name: "no meetings still shows the school day",
			from: "09:00", to: "17:45", days: "1/1 2/1 3/1 4/1 5/1",
		},
		{
			name:     "meeting on the quarter hours",
			sections: []TimetableSection{sec("CS101", at(1, 9, 0, 10, 15), at(3, 9, 0, 10, 15))},
			from:     "09:00", to: "17:45", days: "1/1 2/1 3/1 4/1 5/1",
			want: []string{"CS101 day1/lane0 09:00+5", "CS101 day3/lane0 09:00+5"},
		},
		{
			name:     "odd minutes stretch to the surrounding rows",
			sections: []TimetableSection{sec("MATH101", at(2, 10, 5, 10, 50))},
			from:     "09:00", to: "17:45", days: "1/1 2/1 3/1 4/1 5/1",
			want: []string{"MATH101 day2/lane0 10:00+4"},
		},
		{
			name:     "early and late meetings widen the day to whole hours",
			sections: []TimetableSection{sec("A", at(3, 8, 30, 9, 45)), sec("B", at(4, 18, 0, 19, 30))},
			from:     "08:00", to: "19:45", days: "1/1 2/1 3/1 4/1 5/1",
			want: []string{"A day3/lane0 08:30+5", "B day4/lane0 18:00+6"},
		},
		{
			name:     "a meeting until midnight",
			sections: []TimetableSection{sec("NIGHT", at(5, 22, 0, 24, 0))},
			from:     "09:00", to: "23:45", days: "1/1 2/1 3/1 4/1 5/1",
			want: []string{"NIGHT day5/lane0 22:00+8"},
		},
		{
			name:     "saturday appears when used",
			sections: []TimetableSection{sec("SAT", at(6, 9, 0, 12, 0))},
			from:     "09:00", to: "17:45", days: "1/1 2/1 3/1 4/1 5/1 6/1",
			want: []string{"SAT day6/lane0 09:00+12"},
		},
		{
			name:     "sunday alone does not bring saturday",
			sections: []TimetableSection{sec("SUN", at(7, 13, 0, 14, 0))},
			from:     "09:00", to: "17:45", days: "1/1 2/1 3/1 4/1 5/1 7/1",
			want: []string{"SUN day7/lane0 13:00+4"},
		},
		{
			name:     "back to back meetings share a lane",
			sections: []TimetableSection{sec("A", at(1, 9, 0, 10, 15)), sec("B", at(1, 10, 30, 11, 45))},
			from:     "09:00", to: "17:45", days: "1/1 2/1 3/1 4/1 5/1",
			want: []string{"A day1/lane0 09:00+5", "B day1/lane0 10:30+5"},
		},
		{
			name:     "overlapping meetings go side by side",
			sections: []TimetableSection{sec("A", at(1, 9, 0, 10, 15)), sec("B", at(1, 10, 0, 11, 0)), sec("C", at(1, 10, 30, 12, 0))},
			from:     "09:00", to: "17:45", days: "1/2 2/1 3/1 4/1 5/1",
			want: []string{"A day1/lane0 09:00+5", "B day1/lane1 10:00+4", "C day1/lane0 10:30+6"},
		},
		{
			name:     "meetings sharing only a stretched row overlap too",
			sections: []TimetableSection{sec("A", at(2, 9, 0, 9, 50)), sec("B", at(2, 9, 55, 10, 45))},
			from:     "09:00", to: "17:45", days: "1/1 2/2 3/1 4/1 5/1",
			want: []string{"A day2/lane0 09:00+4", "B day2/lane1 09:45+4"},
		},
		{
			name:     "impossible meetings are left out",
			sections: []TimetableSection{sec("BAD", at(0, 9, 0, 10, 0), at(8, 9, 0, 10, 0), at(1, 11, 0, 11, 0))},
			from:     "09:00", to: "17:45", days: "1/1 2/1 3/1 4/1 5/1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewTimetableGrid(tc.sections)
			if got := g.Rows[0].Label(); got != tc.from {
				t.Errorf("first row %s, want %s", got, tc.from)
			}
			if got := g.Rows[len(g.Rows)-1].Label(); got != tc.to {
				t.Errorf("last row %s, want %s", got, tc.to)
			}
			var days []string
			for _, d := range g.Days {
				days = append(days, fmt.Sprintf("%d/%d", d.Weekday, d.Lanes))
			}
			if got := strings.Join(days, " "); got != tc.days {
				t.Errorf("days %q, want %q", got, tc.days)
			}
			got := layout(t, g)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("meetings\n got %q\nwant %q", got, tc.want)
			}
			if g.Meetings != len(tc.want) {
				t.Errorf("Meetings = %d, want %d", g.Meetings, len(tc.want))
			}
		})
	}
}

func TestTimetableTotalCredits(t *testing.T) {
	tt := Timetable{Sections: []TimetableSection{{Credits: 3}, {Credits: 4}, {Credits: 0}}}
	if got := tt.TotalCredits(); got != 7 {
		t.Errorf("total %d, want 7", got)
	}
}
