package registration_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/registration"
)

// The rules of the engine one at a time, each against its own throwaway database. The
// concurrent paths are in concurrency_test.go.

// Weekdays as the schema numbers them (ISO 8601).
const (
	mon = 1 + iota
	tue
	wed
)

// hm is a time of day as minutes after midnight.
func hm(h, m int) int { return h*60 + m }

type meeting struct{ day, start, end int }

// sectionAt adds a section with one or more weekly meetings.
func (w *world) sectionAt(course int64, number string, capacity int, first meeting, more ...meeting) int64 {
	w.t.Helper()
	id := w.section(course, number, capacity, first.day, first.start, first.end)
	for _, m := range more {
		w.exec("INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (?, ?, ?, ?)", id, m.day, m.start, m.end)
	}
	return id
}

// pastTerm adds a term that is not the current one, with a registration window open now,
// so that only the term refuses its sections.
func (w *world) pastTerm() int64 {
	w.t.Helper()
	term := w.id(w.exec("INSERT INTO terms (code, name, starts_on, ends_on, is_current) VALUES ('2026-2', 'Fall 2026', ?, ?, FALSE)",
		now.AddDate(0, -6, 0), now.AddDate(0, -2, 0)))
	w.exec("INSERT INTO registration_windows (term_id, class_year, phase, opens_at, closes_at) VALUES (?, NULL, 'registration', ?, ?)",
		term, now.Add(-time.Hour), now.Add(time.Hour))
	return term
}

// sectionIn adds a section of the course in another term, and optionally enrolls the
// student in it directly, as an earlier term's registration would have.
func (w *world) sectionIn(term, course int64, number string, enrolled ...int64) int64 {
	w.t.Helper()
	id := w.id(w.exec("INSERT INTO sections (course_id, term_id, number, capacity, enrolled) VALUES (?, ?, ?, 30, ?)",
		course, term, number, len(enrolled)))
	w.exec("INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (?, 1, 540, 600)", id)
	for _, st := range enrolled {
		w.exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, 'register')",
			st, id, course, term)
	}
	return id
}

// seats is the section's enrolled and held counters.
func (w *world) seats(section int64) (enrolled, held int) {
	w.t.Helper()
	if err := w.db.QueryRow("SELECT enrolled, held FROM sections WHERE id = ?", section).Scan(&enrolled, &held); err != nil {
		w.t.Fatal(err)
	}
	return enrolled, held
}

// entry is the student's waitlist entry for the section as "status" or "status/reason",
// "none" when there is none.
func (w *world) entry(student, section int64) string {
	w.t.Helper()
	var status, reason string
	err := w.db.QueryRow("SELECT status, reason FROM waitlist_entries WHERE user_id = ? AND section_id = ?", student, section).Scan(&status, &reason)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "none"
	case err != nil:
		w.t.Fatal(err)
	case reason != "":
		return status + "/" + reason
	}
	return status
}

// holds reports whether the student has a seat in the section.
func (w *world) holds(student, section int64) bool {
	w.t.Helper()
	return w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ?", student, section) == 1
}

// ticking is a clock that moves on a millisecond each time it is read, so that waitlist
// entries joined one after another get increasing times, as they do with the real clock.
func ticking(start time.Time) func() time.Time {
	var n atomic.Int64
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Millisecond) }
}

// action is one of the Service's request methods, for tables that run them all.
type action struct {
	name string
	do   func(*registration.Service, context.Context, registration.Request) (registration.Outcome, error)
}

var (
	actRegister = action{"register", (*registration.Service).Register}
	actJoin     = action{"join", (*registration.Service).JoinWaitlist}
	actDrop     = action{"drop", (*registration.Service).Drop}
	actLeave    = action{"leave", (*registration.Service).LeaveWaitlist}
)

// send runs a request with a key; an error fails the test.
func send(t *testing.T, w *world, a action, student, section int64, key string) registration.Outcome {
	t.Helper()
	out, err := a.do(w.svc, context.Background(), registration.Request{StudentID: student, SectionID: section, Key: key})
	if err != nil {
		t.Fatalf("%s section %d, key %q: %v", a.name, section, key, err)
	}
	return out
}

func expect(t *testing.T, what string, out registration.Outcome, want registration.Result) {
	t.Helper()
	if out.Result != want {
		t.Errorf("%s: %s (%+v), want %s", what, out.Result, out, want)
	}
}

// Registering, dropping and waitlisting need a window of phase registration or add_drop,
// of the section's term, for every class year or the student's own (2), open now.
func TestWindow(t *testing.T) {
	t.Parallel()
	hour := time.Hour
	only := func(classYear any, phase string, opens, closes time.Time) func(*world) {
		return func(w *world) {
			w.exec("DELETE FROM registration_windows")
			w.window(classYear, phase, opens, closes)
		}
	}
	clock := func(at time.Time) func(*world) {
		return func(w *world) { w.svc.SetClock(func() time.Time { return at }) }
	}
	cases := []struct {
		name  string
		setup func(w *world)
		open  bool
	}{
		{"fixture window: every class year, open now", func(*world) {}, true},
		{"no window at all", func(w *world) { w.exec("DELETE FROM registration_windows") }, false},
		{"clock before the window", clock(now.Add(-2 * hour)), false},
		{"clock after the window", clock(now.Add(2 * hour)), false},
		{"class_year NULL", only(nil, "registration", now.Add(-hour), now.Add(hour)), true},
		{"class_year 2, the student's", only(2, "registration", now.Add(-hour), now.Add(hour)), true},
		{"class_year 3 only", only(3, "registration", now.Add(-hour), now.Add(hour)), false},
		{"basket phase only", only(nil, "basket", now.Add(-hour), now.Add(hour)), false},
		{"add_drop phase", only(nil, "add_drop", now.Add(-hour), now.Add(hour)), true},
		{"add_drop for class year 2", only(2, "add_drop", now.Add(-hour), now.Add(hour)), true},
		{"opens later", only(nil, "registration", now.Add(hour), now.Add(2*hour)), false},
		{"closed earlier", only(nil, "registration", now.Add(-2*hour), now.Add(-hour)), false},
		{"opens exactly now", only(nil, "registration", now, now.Add(hour)), true},
		{"closes exactly now", only(nil, "registration", now.Add(-hour), now), false},
		{"open window of another term only", func(w *world) {
			w.exec("DELETE FROM registration_windows")
			w.pastTerm()
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			st, other := w.student(), w.student()
			held := w.section(w.course("CS101", 3), "01", 30, mon, hm(9, 0), hm(10, 0))
			wanted := w.section(w.course("MATH101", 3), "01", 30, tue, hm(9, 0), hm(10, 0))
			full := w.section(w.course("PHYS101", 3), "01", 1, wed, hm(9, 0), hm(10, 0))
			expect(t, "before: register", w.register(st, held), registration.Enrolled)
			expect(t, "before: fill", w.register(other, full), registration.Enrolled)

			c.setup(w)
			want := map[string]registration.Result{"register": registration.Enrolled, "join": registration.Waitlisted, "drop": registration.Dropped}
			if !c.open {
				want = map[string]registration.Result{"register": registration.WindowClosed, "join": registration.WindowClosed, "drop": registration.WindowClosed}
			}
			out := w.register(st, wanted)
			expect(t, "register", out, want["register"])
			if out.Section.CourseCode != "MATH101" || out.Section.Number != "01" {
				t.Errorf("register: section %+v, want MATH101-01 named", out.Section)
			}
			expect(t, "join", w.join(st, full), want["join"])
			expect(t, "drop", w.drop(st, held), want["drop"])

			if w.holds(st, wanted) != c.open || w.holds(st, held) == c.open {
				t.Errorf("holds MATH101-01 %v and CS101-01 %v, want %v and %v", w.holds(st, wanted), w.holds(st, held), c.open, !c.open)
			}
			w.checkInvariants()
		})
	}
}

// A section that does not exist, or is not of the current term, is not found by any
// action; the second says so with NotInTerm.
func TestNotFound(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	st := w.student()
	course := w.course("CS101", 3)
	w.section(course, "01", 30, mon, hm(9, 0), hm(10, 0))
	past := w.sectionIn(w.pastTerm(), course, "01", st)

	cases := []struct {
		name      string
		section   int64
		act       action
		notInTerm bool
	}{
		{"unknown section: register", 999999, actRegister, false},
		{"unknown section: join", 999999, actJoin, false},
		{"unknown section: drop", 999999, actDrop, false},
		{"unknown section: leave", 999999, actLeave, false},
		{"section of a past term: register", past, actRegister, true},
		{"section of a past term: join", past, actJoin, true},
		{"section of a past term (held): drop", past, actDrop, true},
		// Leaving looks only for a waitlist entry, so it cannot tell the term.
		{"section of a past term: leave", past, actLeave, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := send(t, w, c.act, st, c.section, "")
			expect(t, c.act.name, out, registration.NotFound)
			if out.NotInTerm != c.notInTerm {
				t.Errorf("NotInTerm %v, want %v", out.NotInTerm, c.notInTerm)
			}
		})
	}
	if !w.holds(st, past) {
		t.Error("the past term's enrollment was dropped")
	}
	if n := w.count("SELECT COUNT(*) FROM waitlist_entries"); n != 0 {
		t.Errorf("%d waitlist entries, want none", n)
	}
	w.checkInvariants()
}

// One section per course; the very same section again is not a refusal but the seat the
// student already has.
func TestDuplicate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	st := w.student()
	course := w.course("CS101", 3)
	first := w.section(course, "01", 30, mon, hm(9, 0), hm(10, 0))
	second := w.section(course, "02", 30, tue, hm(9, 0), hm(10, 0))

	expect(t, "first section", w.register(st, first), registration.Enrolled)
	out := w.register(st, second)
	expect(t, "another section of the course", out, registration.Duplicate)
	if out.Other != "CS101-01" {
		t.Errorf("Other %q, want CS101-01", out.Other)
	}
	out = w.join(st, second)
	expect(t, "join another section of the course", out, registration.Duplicate)
	if out.Other != "CS101-01" {
		t.Errorf("join: Other %q, want CS101-01", out.Other)
	}
	for i := range 2 {
		expect(t, fmt.Sprintf("same section again (%d)", i+1), w.register(st, first), registration.Enrolled)
	}
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ?", st); n != 1 {
		t.Errorf("%d enrollments, want 1", n)
	}
	if enrolled, _ := w.seats(first); enrolled != 1 {
		t.Errorf("CS101-01 enrolled %d, want 1", enrolled)
	}
	w.checkInvariants()
}

// Every prerequisite must be completed (not merely taken this term); the missing ones are
// listed by code, sorted.
func TestPrerequisites(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	st := w.student()
	math := w.course("MATH100", 3)
	intro := w.course("CS101", 3)
	advanced := w.course("CS201", 4)
	w.exec("INSERT INTO course_prerequisites (course_id, prerequisite_id) VALUES (?, ?), (?, ?)", advanced, math, advanced, intro)
	sec := w.section(advanced, "01", 30, mon, hm(9, 0), hm(10, 0))
	mathNow := w.section(math, "01", 30, tue, hm(9, 0), hm(10, 0))
	complete := func(course int64) {
		w.exec("INSERT INTO completed_courses (user_id, course_id, term_code, grade) VALUES (?, ?, '2026-2', 'A')", st, course)
	}

	steps := []struct {
		name    string
		before  func()
		missing []string
	}{
		{"none completed", func() {}, []string{"CS101", "MATH100"}},
		{"enrolled in MATH100 this term does not count", func() { expect(t, "MATH100 now", w.register(st, mathNow), registration.Enrolled) }, []string{"CS101", "MATH100"}},
		{"CS101 completed", func() { complete(intro) }, []string{"MATH100"}},
		{"both completed", func() { complete(math) }, nil},
	}
	for _, s := range steps {
		s.before()
		out := w.register(st, sec)
		if s.missing == nil {
			expect(t, s.name, out, registration.Enrolled)
			continue
		}
		expect(t, s.name, out, registration.Prerequisite)
		if !slices.Equal(out.Missing, s.missing) {
			t.Errorf("%s: Missing %q, want %q", s.name, out.Missing, s.missing)
		}
	}
	w.checkInvariants()
}

// Two sections conflict when they meet on the same weekday at overlapping times; meeting
// back to back is fine.
func TestTimeConflict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		have     []meeting
		want     []meeting
		conflict bool
	}{
		{"overlap on the same weekday", []meeting{{mon, hm(9, 0), hm(10, 15)}}, []meeting{{mon, hm(10, 0), hm(11, 0)}}, true},
		{"overlap, the other way round", []meeting{{mon, hm(10, 0), hm(11, 0)}}, []meeting{{mon, hm(9, 0), hm(10, 15)}}, true},
		{"one inside the other", []meeting{{tue, hm(9, 0), hm(12, 0)}}, []meeting{{tue, hm(10, 0), hm(11, 0)}}, true},
		{"identical times", []meeting{{tue, hm(9, 0), hm(10, 0)}}, []meeting{{tue, hm(9, 0), hm(10, 0)}}, true},
		{"ends at 10:00, the other starts at 10:00", []meeting{{mon, hm(9, 0), hm(10, 0)}}, []meeting{{mon, hm(10, 0), hm(11, 0)}}, false},
		{"starts at 10:00, the other ends at 10:00", []meeting{{mon, hm(10, 0), hm(11, 0)}}, []meeting{{mon, hm(9, 0), hm(10, 0)}}, false},
		{"same time, different weekday", []meeting{{mon, hm(9, 0), hm(10, 0)}}, []meeting{{tue, hm(9, 0), hm(10, 0)}}, false},
		{"second meeting overlaps", []meeting{{mon, hm(9, 0), hm(10, 0)}, {wed, hm(14, 0), hm(15, 0)}}, []meeting{{wed, hm(14, 30), hm(15, 30)}}, true},
		{"no meeting overlaps", []meeting{{mon, hm(9, 0), hm(10, 0)}, {wed, hm(14, 0), hm(15, 0)}}, []meeting{{mon, hm(10, 0), hm(11, 0)}, {wed, hm(13, 0), hm(14, 0)}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			st := w.student()
			have := w.sectionAt(w.course("CS101", 3), "01", 30, c.have[0], c.have[1:]...)
			want := w.sectionAt(w.course("MATH101", 3), "01", 30, c.want[0], c.want[1:]...)
			expect(t, "CS101-01", w.register(st, have), registration.Enrolled)
			out := w.register(st, want)
			if !c.conflict {
				expect(t, "MATH101-01", out, registration.Enrolled)
				w.checkInvariants()
				return
			}
			expect(t, "MATH101-01", out, registration.TimeConflict)
			if out.Other != "CS101-01" {
				t.Errorf("Other %q, want CS101-01", out.Other)
			}
			// Dropping the section in the way clears the conflict.
			expect(t, "drop CS101-01", w.drop(st, have), registration.Dropped)
			expect(t, "MATH101-01 after the drop", w.register(st, want), registration.Enrolled)
			w.checkInvariants()
		})
	}
}

// The credits of the term's sections may reach the student's limit but not pass it.
func TestCreditLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		limit       int
		have        []int // credits of the sections already held this term
		pastCredits int   // credits held in a past term
		want        int   // credits of the wanted section
		result      registration.Result
		used        int // Outcome.CreditsUsed
	}{
		{"exactly reaches the limit", 10, []int{4, 3}, 0, 3, registration.Enrolled, 10},
		{"one credit over", 10, []int{4, 3}, 0, 4, registration.CreditLimit, 7},
		{"first section already over", 3, nil, 0, 4, registration.CreditLimit, 0},
		{"limit 0", 0, nil, 0, 1, registration.CreditLimit, 0},
		{"zero-credit section at the limit", 6, []int{3, 3}, 0, 0, registration.Enrolled, 6},
		{"a past term's credits do not count", 6, nil, 6, 6, registration.Enrolled, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			st := w.students(1, c.limit)[0]
			for i, credits := range c.have {
				sec := w.section(w.course(fmt.Sprintf("HAVE%d", i), credits), "01", 30, mon+i, hm(9, 0), hm(10, 0))
				expect(t, fmt.Sprintf("section %d held", i), w.register(st, sec), registration.Enrolled)
			}
			if c.pastCredits > 0 {
				w.sectionIn(w.pastTerm(), w.course("PAST", c.pastCredits), "01", st)
			}
			sec := w.section(w.course("WANT", c.want), "01", 30, 5, hm(9, 0), hm(10, 0))
			out := w.register(st, sec)
			expect(t, "wanted section", out, c.result)
			// Once enrolled, CreditsUsed includes the new section, though the comment on
			// Outcome.CreditsUsed says "before the request"; refused, nothing changed.
			if out.CreditsUsed != c.used || out.CreditLimit != c.limit {
				t.Errorf("credits %d of %d, want %d of %d", out.CreditsUsed, out.CreditLimit, c.used, c.limit)
			}
			if w.holds(st, sec) != (c.result == registration.Enrolled) {
				t.Errorf("holds the section: %v", w.holds(st, sec))
			}
			w.checkInvariants()
		})
	}
}

// A full section offers its waitlist: positions in order of joining, the same place when
// joining again, the back of the line after leaving.
func TestFullAndWaitlist(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.svc.SetClock(ticking(now))
	course := w.course("CS101", 3)
	sec := w.section(course, "01", 1, mon, hm(9, 0), hm(10, 0))
	holder := w.student()
	s := w.students(3, 18)

	out := w.register(holder, sec)
	expect(t, "holder", out, registration.Enrolled)
	if out.SeatsLeft != 0 {
		t.Errorf("holder: SeatsLeft %d, want 0", out.SeatsLeft)
	}
	out = w.register(s[0], sec)
	expect(t, "register on a full section", out, registration.Full)
	if out.SeatsLeft != 0 {
		t.Errorf("full: SeatsLeft %d, want 0", out.SeatsLeft)
	}

	position := func(what string, st int64, want int) {
		t.Helper()
		out := w.join(st, sec)
		if out.Result != registration.Waitlisted || out.Position != want {
			t.Errorf("%s: %s at %d, want waitlisted at %d", what, out.Result, out.Position, want)
		}
	}
	for i, st := range s {
		position(fmt.Sprintf("student %d joins", i), st, i+1)
	}
	position("student 1 joins again", s[1], 2)
	if n := w.count("SELECT COUNT(*) FROM waitlist_entries WHERE user_id = ?", s[1]); n != 1 {
		t.Errorf("student 1 has %d waitlist entries, want 1", n)
	}

	expect(t, "student 0 leaves", w.leave(s[0], sec), registration.LeftWaitlist)
	if got := w.entry(s[0], sec); got != "left" {
		t.Errorf("student 0's entry %s, want left", got)
	}
	expect(t, "student 0 leaves again", w.leave(s[0], sec), registration.NotFound)
	position("student 1 moved up", s[1], 1)
	position("student 0 rejoins at the back", s[0], 3)

	expect(t, "the holder joins the waitlist of their own section", w.join(holder, sec), registration.Enrolled)
	if got := w.entry(holder, sec); got != "none" {
		t.Errorf("holder's entry %s, want none", got)
	}

	// A free seat: joining enrolls instead.
	{
		open := w.section(w.course("MATH101", 3), "01", 2, tue, hm(9, 0), hm(10, 0))
		out := w.join(s[0], open)
		expect(t, "join with a seat free", out, registration.Enrolled)
		if out.Position != 0 || !w.holds(s[0], open) || w.entry(s[0], open) != "none" {
			t.Errorf("position %d, holds %v, entry %s: want an enrollment and no entry", out.Position, w.holds(s[0], open), w.entry(s[0], open))
		}
	}
	// Holding another section of the course: refused as Register would.
	{
		other := w.section(course, "02", 30, tue, hm(11, 0), hm(12, 0))
		st := w.student()
		expect(t, "CS101-02", w.register(st, other), registration.Enrolled)
		out := w.join(st, sec)
		expect(t, "join CS101-01", out, registration.Duplicate)
		if out.Other != "CS101-02" || w.entry(st, sec) != "none" {
			t.Errorf("Other %q, entry %s: want CS101-02 and none", out.Other, w.entry(st, sec))
		}
	}
	// Missing a prerequisite: refused as Register would.
	{
		advanced := w.course("CS301", 3)
		w.exec("INSERT INTO course_prerequisites (course_id, prerequisite_id) VALUES (?, ?)", advanced, course)
		full := w.section(advanced, "01", 1, wed, hm(9, 0), hm(10, 0))
		filler, st := w.student(), w.student()
		w.exec("INSERT INTO completed_courses (user_id, course_id, term_code, grade) VALUES (?, ?, '2026-2', 'B')", filler, course)
		expect(t, "filler", w.register(filler, full), registration.Enrolled)
		out := w.join(st, full)
		expect(t, "join CS301-01", out, registration.Prerequisite)
		if !slices.Equal(out.Missing, []string{"CS101"}) || w.entry(st, full) != "none" {
			t.Errorf("Missing %q, entry %s: want [CS101] and none", out.Missing, w.entry(st, full))
		}
	}
	w.checkInvariants()
}

func TestDrop(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 2, mon, hm(9, 0), hm(10, 0))
	a, b, c := w.student(), w.student(), w.student()

	expect(t, "a section not held", w.drop(a, sec), registration.NotFound)
	expect(t, "a", w.register(a, sec), registration.Enrolled)
	expect(t, "b", w.register(b, sec), registration.Enrolled)
	expect(t, "c on the full section", w.register(c, sec), registration.Full)

	expect(t, "a drops, nobody waiting", w.drop(a, sec), registration.Dropped)
	if enrolled, held := w.seats(sec); enrolled != 1 || held != 0 {
		t.Errorf("after the drop: enrolled %d, held %d; want 1 and 0", enrolled, held)
	}
	expect(t, "a drops again", w.drop(a, sec), registration.NotFound)
	expect(t, "c takes the freed seat", w.register(c, sec), registration.Enrolled)
	expect(t, "b drops", w.drop(b, sec), registration.Dropped)
	expect(t, "b registers again", w.register(b, sec), registration.Enrolled)
	if !w.holds(b, sec) || !w.holds(c, sec) || w.holds(a, sec) {
		t.Error("want b and c in the section, not a")
	}
	w.checkInvariants()
}

// Request.Key: the same key gets the first answer back and does nothing more; a key used
// for another request is invalid; keys belong to one student.
func TestIdempotencyKeys(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 2, mon, hm(9, 0), hm(10, 0))
	other := w.section(w.course("MATH101", 3), "01", 30, tue, hm(9, 0), hm(10, 0))
	st, neighbour, late := w.student(), w.student(), w.student()

	step := func(what string, a action, student, section int64, key string, want registration.Result, replayed bool) {
		t.Helper()
		out := send(t, w, a, student, section, key)
		if out.Result != want || out.Replayed != replayed {
			t.Errorf("%s: %s (replayed %v), want %s (replayed %v)", what, out.Result, out.Replayed, want, replayed)
		}
	}
	step("register r1", actRegister, st, sec, "r1", registration.Enrolled, false)
	step("register r1 again", actRegister, st, sec, "r1", registration.Enrolled, true)
	step("drop d1", actDrop, st, sec, "d1", registration.Dropped, false)
	step("register r2", actRegister, st, sec, "r2", registration.Enrolled, false)
	step("drop d1 again", actDrop, st, sec, "d1", registration.Dropped, true)
	if enrolled, _ := w.seats(sec); !w.holds(st, sec) || enrolled != 1 {
		t.Errorf("the replayed drop changed something: holds %v, enrolled %d", w.holds(st, sec), enrolled)
	}

	// A key reused for another request is refused, and that request is not done.
	step("r1 for another section", actRegister, st, other, "r1", registration.Invalid, false)
	step("r1 for another action", actDrop, st, sec, "r1", registration.Invalid, false)
	step("d1 for joining", actJoin, st, sec, "d1", registration.Invalid, false)
	step("r2 for leaving", actLeave, st, sec, "r2", registration.Invalid, false)
	if w.holds(st, other) || !w.holds(st, sec) {
		t.Errorf("after the invalid requests: holds MATH101-01 %v, CS101-01 %v; want false, true", w.holds(st, other), w.holds(st, sec))
	}

	step("another student's r1", actRegister, neighbour, sec, "r1", registration.Enrolled, false)
	if n := w.count("SELECT COUNT(*) FROM registration_requests WHERE user_id = ?", st); n != 3 {
		t.Errorf("%d keys recorded for the student, want 3 (r1, d1, r2)", n)
	}

	// A refusal is an answer too: the same key keeps getting it.
	step("f1 on the full section", actRegister, late, sec, "f1", registration.Full, false)
	expect(t, "neighbour drops", w.drop(neighbour, sec), registration.Dropped)
	step("f1 again with a seat free", actRegister, late, sec, "f1", registration.Full, true)
	if w.holds(late, sec) {
		t.Error("the replayed refusal enrolled the student")
	}
	step("f2 with a seat free", actRegister, late, sec, "f2", registration.Enrolled, false)
	w.checkInvariants()
}

// Only students register: staff, admins and unknown ids get ErrNotStudent for every
// action, and nothing is recorded.
func TestNotStudent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 30, mon, hm(9, 0), hm(10, 0))
	users := map[string]int64{"unknown id": 999999}
	for _, role := range []string{"staff", "admin"} {
		users[role] = w.id(w.exec("INSERT INTO users (username, display_name, role, class_year) VALUES (?, ?, ?, 2)", role+"1", role, role))
	}
	for who, id := range users {
		for _, a := range []action{actRegister, actJoin, actDrop, actLeave} {
			t.Run(who+" "+a.name, func(t *testing.T) {
				out, err := a.do(w.svc, context.Background(), registration.Request{StudentID: id, SectionID: sec, Key: "k"})
				if !errors.Is(err, registration.ErrNotStudent) {
					t.Errorf("%+v, %v; want ErrNotStudent", out, err)
				}
			})
		}
	}
	for _, table := range []string{"enrollments", "waitlist_entries", "registration_requests"} {
		if n := w.count("SELECT COUNT(*) FROM " + table); n != 0 {
			t.Errorf("%d rows in %s, want none", n, table)
		}
	}
	w.checkInvariants()
}

// A dropped seat goes to the first waiting student who still passes every rule; the
// others are skipped with the reason kept. Everyone skipped: the seat is freed for all.
func TestPromotion(t *testing.T) {
	t.Parallel()
	type scene struct {
		w      *world
		course int64
		sec    int64 // CS300-01, 1 seat, Monday 9:00
		a, b   int64 // waiting, a first
		walkIn int64 // asks for CS300-01 after the drop
	}
	otherSection := func(sc *scene) int64 {
		return sc.w.section(sc.course, "02", 30, tue, hm(9, 0), hm(10, 0))
	}
	cases := []struct {
		name      string
		meanwhile func(t *testing.T, sc *scene)
		a, b      string   // their waitlist entries after the drop
		owners    []string // who holds CS300-01 after the drop
		walkIn    registration.Result
	}{
		{
			name: "first in line would pass the credit limit",
			meanwhile: func(t *testing.T, sc *scene) {
				sc.w.exec("UPDATE users SET credit_limit = 3 WHERE id = ?", sc.a)
				sec := sc.w.section(sc.w.course("CS310", 3), "01", 30, tue, hm(9, 0), hm(10, 0))
				expect(t, "a takes 3 credits", sc.w.register(sc.a, sec), registration.Enrolled)
			},
			a: "skipped/credit_limit", b: "enrolled", owners: []string{"b"}, walkIn: registration.Full,
		},
		{
			name: "first in line took another section of the course",
			meanwhile: func(t *testing.T, sc *scene) {
				expect(t, "a takes CS300-02", sc.w.register(sc.a, otherSection(sc)), registration.Enrolled)
			},
			a: "skipped/duplicate", b: "enrolled", owners: []string{"b"}, walkIn: registration.Full,
		},
		{
			name: "a prerequisite was added that only the second completed",
			meanwhile: func(t *testing.T, sc *scene) {
				pre := sc.w.course("CS200", 3)
				sc.w.exec("INSERT INTO course_prerequisites (course_id, prerequisite_id) VALUES (?, ?)", sc.course, pre)
				for _, st := range []int64{sc.b, sc.walkIn} {
					sc.w.exec("INSERT INTO completed_courses (user_id, course_id, term_code, grade) VALUES (?, ?, '2026-2', 'A')", st, pre)
				}
			},
			a: "skipped/prerequisite", b: "enrolled", owners: []string{"b"}, walkIn: registration.Full,
		},
		{
			name: "first in line registered the section directly when a seat was added",
			meanwhile: func(t *testing.T, sc *scene) {
				sc.w.exec("UPDATE sections SET capacity = 2 WHERE id = ?", sc.sec)
				expect(t, "a registers", sc.w.register(sc.a, sc.sec), registration.Enrolled)
				if got := sc.w.entry(sc.a, sc.sec); got != "enrolled" {
					t.Errorf("a's entry right after registering: %s, want enrolled", got)
				}
			},
			a: "enrolled", b: "enrolled", owners: []string{"a", "b"}, walkIn: registration.Full,
		},
		{
			name: "first in line was enrolled by staff, entry still waiting",
			meanwhile: func(t *testing.T, sc *scene) {
				sc.w.exec("UPDATE sections SET capacity = capacity + 1, enrolled = enrolled + 1 WHERE id = ?", sc.sec)
				sc.w.exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, 'staff')",
					sc.a, sc.sec, sc.course, sc.w.term)
			},
			a: "enrolled", b: "enrolled", owners: []string{"a", "b"}, walkIn: registration.Full,
		},
		{
			name: "everyone skipped: the seat is freed",
			meanwhile: func(t *testing.T, sc *scene) {
				other := otherSection(sc)
				expect(t, "a takes CS300-02", sc.w.register(sc.a, other), registration.Enrolled)
				expect(t, "b takes CS300-02", sc.w.register(sc.b, other), registration.Enrolled)
			},
			a: "skipped/duplicate", b: "skipped/duplicate", owners: nil, walkIn: registration.Enrolled,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			sc := &scene{w: w, course: w.course("CS300", 3)}
			sc.sec = w.section(sc.course, "01", 1, mon, hm(9, 0), hm(10, 0))
			holder := w.student()
			sc.a, sc.b, sc.walkIn = w.student(), w.student(), w.student()
			expect(t, "holder", w.register(holder, sc.sec), registration.Enrolled)
			for _, st := range []int64{sc.a, sc.b} {
				expect(t, "join", w.join(st, sc.sec), registration.Waitlisted)
			}
			c.meanwhile(t, sc)

			expect(t, "holder drops", w.drop(holder, sc.sec), registration.Dropped)
			if got := w.entry(sc.a, sc.sec); got != c.a {
				t.Errorf("a's entry %s, want %s", got, c.a)
			}
			if got := w.entry(sc.b, sc.sec); got != c.b {
				t.Errorf("b's entry %s, want %s", got, c.b)
			}
			var owners []string
			for name, st := range map[string]int64{"a": sc.a, "b": sc.b, "holder": holder} {
				if w.holds(st, sc.sec) {
					owners = append(owners, name)
				}
			}
			slices.Sort(owners)
			if !slices.Equal(owners, c.owners) {
				t.Errorf("CS300-01 held by %q, want %q", owners, c.owners)
			}
			if _, held := w.seats(sc.sec); held != 0 {
				t.Errorf("%d seats still held", held)
			}
			w.checkInvariants()
			expect(t, "a walk-in", w.register(sc.walkIn, sc.sec), c.walkIn)
			w.checkInvariants()
		})
	}
}

// Run hands on a seat whose drop committed but whose promotion did not (the replica
// stopped in between), and frees a held seat nobody waits for.
func TestSweeper(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	course := w.course("CS101", 3)
	sec := w.section(course, "01", 1, mon, hm(9, 0), hm(10, 0))
	orphan := w.section(w.course("MATH101", 3), "01", 1, tue, hm(9, 0), hm(10, 0))
	holder, waiter := w.student(), w.student()
	expect(t, "holder", w.register(holder, sec), registration.Enrolled)
	expect(t, "waiter", w.join(waiter, sec), registration.Waitlisted)

	// What a drop leaves when the process dies before Promote.
	w.exec("DELETE FROM enrollments WHERE user_id = ? AND section_id = ?", holder, sec)
	w.exec("UPDATE sections SET enrolled = enrolled - 1, held = 1 WHERE id = ?", sec)
	w.exec("UPDATE sections SET held = 1 WHERE id = ?", orphan)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.svc.Run(ctx, 20*time.Millisecond)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !w.holds(waiter, sec) || w.count("SELECT COUNT(*) FROM sections WHERE held > 0") > 0 {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("after 10 s: waiter enrolled %v, %d sections with held seats", w.holds(waiter, sec), w.count("SELECT COUNT(*) FROM sections WHERE held > 0"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if got := w.entry(waiter, sec); got != "enrolled" {
		t.Errorf("waiter's entry %s, want enrolled", got)
	}
	w.checkInvariants()
	expect(t, "a walk-in on the freed orphan seat", w.register(w.student(), orphan), registration.Enrolled)
	w.checkInvariants()
}

// series is the value of each series of the metric, keyed by its label values joined with
// "/" (as "register/enrolled").
func series(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			got[strings.Join(labels, "/")] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return got
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	service := func(w *world) *prometheus.Registry {
		reg := prometheus.NewRegistry()
		w.svc = registration.New(w.db, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
		w.svc.SetClock(func() time.Time { return now })
		return reg
	}

	t.Run("requests by action and result, seats left", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		reg := service(w)
		hot := w.section(w.course("CS101", 3), "01", 2, mon, hm(9, 0), hm(10, 0))
		quiet := w.section(w.course("CS102", 3), "01", 5, tue, hm(9, 0), hm(10, 0))
		a, b, c := w.student(), w.student(), w.student()

		expect(t, "a", w.register(a, hot), registration.Enrolled)
		if got := series(t, reg, "school_section_seats_left"); got["CS101-01"] != 1 {
			t.Errorf("seats left %v, want CS101-01 at 1", got)
		}
		expect(t, "b", w.register(b, hot), registration.Enrolled)
		expect(t, "c", w.register(c, hot), registration.Full)
		expect(t, "c joins", w.join(c, hot), registration.Waitlisted)
		expect(t, "a in the quiet one", w.register(a, quiet), registration.Enrolled)
		expect(t, "a drops", w.drop(a, hot), registration.Dropped)
		expect(t, "unknown section", w.register(c, 999999), registration.NotFound)
		expect(t, "b leaves a waitlist it is not on", w.leave(b, hot), registration.NotFound)

		// Labels are sorted by name: action, then result.
		wantRequests := map[string]float64{
			"register/enrolled":   3,
			"register/full":       1,
			"register/not_found":  1,
			"waitlist/waitlisted": 1,
			"drop/dropped":        1,
			"leave/not_found":     1,
		}
		if got := series(t, reg, "school_registration_requests_total"); !maps.Equal(got, wantRequests) {
			t.Errorf("school_registration_requests_total %v, want %v", got, wantRequests)
		}
		if got := series(t, reg, "school_waitlist_promotions_total"); !maps.Equal(got, map[string]float64{"enrolled": 1}) {
			t.Errorf("school_waitlist_promotions_total %v, want enrolled 1", got)
		}
		if got := series(t, reg, "school_section_seats_left"); len(got) != 2 || got["CS101-01"] != 0 || got["CS102-01"] != 4 {
			t.Errorf("seats left %v, want CS101-01 at 0 and CS102-01 at 4", got)
		}
		w.checkInvariants()
	})

	t.Run("only the 20 most requested sections", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		reg := service(w)
		students := w.students(2, 40)
		var want []string
		for i := range 22 {
			code := fmt.Sprintf("HOT%02d", i)
			sec := w.section(w.course(code, 1), "01", 30, 1+i%5, hm(8+i/5*2, 0), hm(9+i/5*2, 0))
			// Sections 0-19 are asked for twice, 20 and 21 once; the answers do not matter.
			w.register(students[0], sec)
			if i < 20 {
				w.register(students[1], sec)
				want = append(want, code+"-01")
			}
		}
		var got []string
		for name := range series(t, reg, "school_section_seats_left") {
			got = append(got, name)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("seats-left series %q, want %q", got, want)
		}
	})
}
