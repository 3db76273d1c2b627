package registration

import (
	"slices"
	"strings"
	"time"
)

// Window is a registration or add/drop window as a student's pages show it.
type Window struct {
	Opens, Closes time.Time
}

// admits reports whether the window is for a student of the class year (0 when the
// account has none): a window for every year admits everyone, one for a year only that
// year's students.
func (w window) admits(classYear int) bool {
	return w.classYear == 0 || classYear != 0 && w.classYear == classYear
}

// StudentWindows lists the current term's windows that a student of the class year
// registers in (the rule windowOpen applies) and that overlap [from, to), earliest
// opening first. The page header's server clock counts down to the next of them.
func (c *Catalog) StudentWindows(classYear int, from, to time.Time) []Window {
	var out []Window
	for _, w := range c.windows {
		if w.admits(classYear) && w.opens.Before(to) && w.closes.After(from) && c.termCurrent(w.termID) {
			out = append(out, Window{Opens: w.opens, Closes: w.closes})
		}
	}
	slices.SortFunc(out, func(a, b Window) int { return a.Opens.Compare(b.Opens) })
	return out
}

// termCurrent reports whether the term is the current one. The catalog knows that of
// its sections: a current term without sections has nothing to register for anyway.
func (c *Catalog) termCurrent(termID int64) bool {
	for _, s := range c.ordered() {
		if s.termID == termID {
			return s.current
		}
	}
	return false
}

// SectionByLabel finds the current term's section that a student names by its label as
// the pages print it ("CS101-01"), in any letter case. A course code may hold a hyphen
// itself, so each hyphen is tried as the one before the section number.
func (c *Catalog) SectionByLabel(label string) (Section, bool) {
	sorted := c.ordered()
	for i := strings.IndexByte(label, '-'); i > 0; {
		code, number := label[:i], label[i+1:]
		at, _ := slices.BinarySearchFunc(sorted, [2]string{code, number}, func(s *catalogSection, want [2]string) int {
			if d := strings.Compare(s.CourseCode, want[0]); d != 0 {
				return d
			}
			return strings.Compare(s.Number, want[1])
		})
		for ; at < len(sorted) && sorted[at].CourseCode == code && sorted[at].Number == number; at++ {
			if sorted[at].current {
				return sorted[at].Section, true
			}
		}
		next := strings.IndexByte(label[i+1:], '-')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	// Codes are kept as staff typed them: one in lower case is found the slow way.
	for _, s := range sorted {
		if s.current && strings.EqualFold(s.Label(), label) {
			return s.Section, true
		}
	}
	return Section{}, false
}
