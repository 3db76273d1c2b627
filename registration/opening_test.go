package registration_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/schoolservice/school/registration"
)

// StudentWindows: the current term's registration and add/drop windows a student's year
// may use, that overlap the day asked about, earliest first; the basket phase, other
// years, other terms and other days are not theirs.
func TestStudentWindows(t *testing.T) {
	t.Parallel()
	w := newWorld(t) // a registration window for every year, from an hour before now to an hour after
	w.section(w.course("CS101", 3), "01", 30, mon, hm(9, 0), hm(10, 0))
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	w.window(2, "add_drop", day.Add(15*time.Hour), day.Add(16*time.Hour))
	w.window(3, "registration", day.Add(9*time.Hour), day.Add(17*time.Hour))    // another year's
	w.window(nil, "basket", day.Add(-48*time.Hour), day.Add(48*time.Hour))      // not registration's
	w.window(nil, "registration", day.Add(30*time.Hour), day.Add(40*time.Hour)) // tomorrow
	w.window(nil, "registration", day.Add(-30*time.Hour), day.Add(1*time.Hour)) // from yesterday into today
	old := w.id(w.exec("INSERT INTO terms (code, name, starts_on, ends_on) VALUES ('2026-2', 'Fall 2026', '2026-09-01', '2026-12-20')"))
	w.exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'registration', ?, ?)", old, day, day.Add(time.Hour))
	cat, err := w.svc.FreshCatalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	opens := func(ws []registration.Window) []time.Time {
		var out []time.Time
		for _, x := range ws {
			out = append(out, x.Opens)
		}
		return out
	}
	want := []time.Time{day.Add(-30 * time.Hour), now.Add(-time.Hour), day.Add(15 * time.Hour)}
	if got := opens(cat.StudentWindows(2, day, day.Add(24*time.Hour))); !slices.Equal(got, want) {
		t.Errorf("year 2's windows today open at %v, want %v", got, want)
	}
	if got := opens(cat.StudentWindows(0, day, day.Add(24*time.Hour))); len(got) != 2 {
		t.Errorf("an account without a year has %d windows today (%v), want the 2 for every year", len(got), got)
	}
	if got := cat.StudentWindows(2, day.Add(-72*time.Hour), day.Add(-48*time.Hour)); len(got) != 0 {
		t.Errorf("windows three days ago: %v, want none", got)
	}
}

// SectionByLabel finds the current term's section a student types, in any case, also
// when the course code has a hyphen of its own; another term's is not found.
func TestSectionByLabel(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cs := w.section(w.course("CS101", 3), "01", 30, mon, hm(9, 0), hm(10, 0))
	cs2 := w.section(w.course("CS101A", 3), "01", 30, mon, hm(9, 0), hm(10, 0))
	kor := w.section(w.course("KOR-L101", 2), "02", 30, tue, hm(9, 0), hm(10, 0))
	lower := w.section(w.course("eng201", 2), "1a", 30, wed, hm(9, 0), hm(10, 0))
	old := w.id(w.exec("INSERT INTO terms (code, name, starts_on, ends_on) VALUES ('2026-2', 'Fall 2026', '2026-09-01', '2026-12-20')"))
	w.exec("INSERT INTO sections (course_id, term_id, number, capacity) VALUES ((SELECT id FROM courses WHERE code = 'CS101'), ?, '09', 30)", old)
	cat, err := w.svc.FreshCatalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for label, want := range map[string]int64{"CS101-01": cs, "CS101A-01": cs2, "KOR-L101-02": kor, "ENG201-1A": lower,
		"CS101-09": 0, "CS101-1": 0, "CS101": 0, "CS999-01": 0, "-01": 0} {
		sec, ok := cat.SectionByLabel(label)
		if ok != (want != 0) || sec.ID != want {
			t.Errorf("SectionByLabel(%q) = %d, %v; want %d", label, sec.ID, ok, want)
		}
	}
}
