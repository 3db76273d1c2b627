package catalog_test

import (
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

func TestTerms(t *testing.T) {
	f := newFixture(t)
	fall := catalog.Term{Code: "2027-2", Name: "Fall 2027", StartsOn: day("2027-09-01"), EndsOn: day("2027-12-20")}
	id, err := f.svc.CreateTerm(f.ctx, sam, fall)
	if err != nil {
		t.Fatal(err)
	}
	var taken *catalog.CodeTakenError
	if _, err := f.svc.CreateTerm(f.ctx, sam, catalog.Term{Code: "2027-1", Name: "Again", StartsOn: day("2027-09-01"), EndsOn: day("2027-12-20")}); !errors.As(err, &taken) || taken.Code != "2027-1" {
		t.Errorf("a code in use: %v", err)
	}
	if err := f.svc.UpdateTerm(f.ctx, sam, id, fall); err != nil {
		t.Errorf("saving it unchanged: %v", err)
	}
	fall.Name = "Autumn 2027"
	if err := f.svc.UpdateTerm(f.ctx, sam, id, fall); err != nil {
		t.Fatal(err)
	}
	if before, after := f.details("term.update"); before["name"] != "Fall 2027" || after["name"] != "Autumn 2027" || after["current"] != false {
		t.Errorf("term.update before %v after %v", before, after)
	}
	if code, err := f.svc.SetCurrentTerm(f.ctx, sam, id); err != nil || code != "2027-2" {
		t.Fatalf("set current: %q %v", code, err)
	}
	if before, after := f.details("term.set_current"); before["current"] != "2027-1" || after["current"] != "2027-2" {
		t.Errorf("term.set_current before %v after %v", before, after)
	}
	if _, err := f.svc.SetCurrentTerm(f.ctx, sam, id); err != nil {
		t.Errorf("making the current term current again: %v", err)
	}

	// A term with sections or windows stays.
	f.exec("INSERT INTO sections (course_id, term_id, number, capacity) VALUES (?, ?, '01', 10)", f.course("CS101"), f.term)
	f.exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'registration', '2027-02-01', '2027-02-02')", f.term)
	var inUse *catalog.TermInUseError
	if _, err := f.svc.DeleteTerm(f.ctx, sam, f.term); !errors.As(err, &inUse) || *inUse != (catalog.TermInUseError{Sections: 1, Windows: 1}) {
		t.Errorf("delete a term in use: %v", err)
	}
	if code, err := f.svc.DeleteTerm(f.ctx, sam, id); err != nil || code != "2027-2" {
		t.Errorf("delete an empty term: %q %v", code, err)
	}
	if _, err := f.svc.DeleteTerm(f.ctx, sam, id); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("delete it again: %v, want not found", err)
	}
	n := itoa(id)
	want := []string{"sam term.create term#" + n, "sam term.update term#" + n, "sam term.set_current term#" + n, "sam term.delete term#" + n}
	if got := f.audit(); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
}

func TestDepartmentsAndCourses(t *testing.T) {
	f := newFixture(t)
	math, err := f.svc.CreateDepartment(f.ctx, sam, catalog.Department{Code: "MATH", Name: "Mathematics"})
	if err != nil {
		t.Fatal(err)
	}
	var taken *catalog.CodeTakenError
	if err := f.svc.UpdateDepartment(f.ctx, sam, math, catalog.Department{Code: "CS", Name: "Maths"}); !errors.As(err, &taken) {
		t.Errorf("a department code in use: %v", err)
	}

	course := func(code string, prereqs ...string) catalog.Course {
		return catalog.Course{DepartmentID: math, Code: code, Title: "Course " + code, Credits: 3, Prerequisites: prereqs}
	}
	calc1, err := f.svc.CreateCourse(f.ctx, sam, course("MATH101"))
	if err != nil {
		t.Fatal(err)
	}
	calc2, err := f.svc.CreateCourse(f.ctx, sam, course("MATH201", "math101", "MATH101"))
	if err != nil {
		t.Fatal(err)
	}
	if _, after := f.details("course.create"); after["department"] != "MATH" || !slices.Equal(after["prerequisites"].([]any), []any{"MATH101"}) {
		t.Errorf("course.create after %v", after)
	}
	var unknown *catalog.NoPrerequisiteError
	for _, tc := range []struct {
		name string
		err  error
		ok   func(error) bool
	}{
		{"unknown department", f.update(calc1, catalog.Course{DepartmentID: math + 100, Code: "MATH101", Title: "x"}), func(err error) bool { return errors.Is(err, catalog.ErrNoDepartment) }},
		{"unknown prerequisites", f.update(calc1, course("MATH101", "NOPE1", "NOPE2")), func(err error) bool {
			return errors.As(err, &unknown) && slices.Equal(unknown.Codes, []string{"NOPE1", "NOPE2"})
		}},
		{"its own prerequisite", f.update(calc1, course("MATH101", "math101")), func(err error) bool { return errors.Is(err, catalog.ErrSelfPrerequisite) }},
		{"a loop", f.update(calc1, course("MATH101", "MATH201")), func(err error) bool { return errors.Is(err, catalog.ErrPrerequisiteCycle) }},
		{"a code in use", f.update(calc1, course("MATH201")), func(err error) bool { return errors.As(err, &taken) && taken.Code == "MATH201" }},
	} {
		if !tc.ok(tc.err) {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
	}
	if n := f.count("SELECT COUNT(*) FROM course_prerequisites WHERE course_id = ?", calc1); n != 0 {
		t.Errorf("a refused change left %d prerequisites", n)
	}

	// Courses and departments others refer to stay.
	var courseInUse *catalog.CourseInUseError
	if _, err := f.svc.DeleteCourse(f.ctx, sam, calc1); !errors.As(err, &courseInUse) || *courseInUse != (catalog.CourseInUseError{RequiredBy: 1}) {
		t.Errorf("delete a prerequisite: %v", err)
	}
	var deptInUse *catalog.DepartmentInUseError
	if _, err := f.svc.DeleteDepartment(f.ctx, sam, math); !errors.As(err, &deptInUse) || *deptInUse != (catalog.DepartmentInUseError{Courses: 2}) {
		t.Errorf("delete a department with courses: %v", err)
	}
	if code, err := f.svc.DeleteCourse(f.ctx, sam, calc2); err != nil || code != "MATH201" {
		t.Errorf("delete MATH201: %q %v", code, err)
	}
	if before, _ := f.details("course.delete"); before["code"] != "MATH201" || !slices.Equal(before["prerequisites"].([]any), []any{"MATH101"}) {
		t.Errorf("course.delete before %v", before)
	}
	// Saved unchanged, a course records nothing.
	if err := f.update(calc1, course("MATH101")); err != nil {
		t.Fatal(err)
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action = 'course.update'"); n != 0 {
		t.Errorf("%d course.update rows for no change", n)
	}
}

func (f *fixture) update(id int64, c catalog.Course) error {
	return f.svc.UpdateCourse(f.ctx, sam, id, c)
}

func TestSections(t *testing.T) {
	f := newFixture(t)
	f.course("CS101")
	sec := catalog.Section{Number: "01", Instructor: "Prof. Ada", Room: "ENG-101", Capacity: 1,
		Meetings: []catalog.Meeting{{Weekday: 1, Start: 540, End: 615}, {Weekday: 3, Start: 540, End: 615}}}
	var noCourse *catalog.NoCourseError
	if _, _, err := f.svc.CreateSection(f.ctx, sam, "CS999", f.term, sec); !errors.As(err, &noCourse) || noCourse.Code != "CS999" {
		t.Errorf("an unknown course: %v", err)
	}
	if _, _, err := f.svc.CreateSection(f.ctx, sam, "CS101", f.term+100, sec); !errors.Is(err, catalog.ErrNoTerm) {
		t.Errorf("an unknown term: %v", err)
	}
	id, label, err := f.svc.CreateSection(f.ctx, sam, "CS101", f.term, sec)
	if err != nil || label != "CS101-01" {
		t.Fatalf("create: %q %v", label, err)
	}
	if _, after := f.details("section.create"); !slices.Equal(after["meetings"].([]any), []any{"Mon 09:00-10:15", "Wed 09:00-10:15"}) {
		t.Errorf("section.create after %v", after)
	}
	var numberTaken *catalog.NumberTakenError
	if _, _, err := f.svc.CreateSection(f.ctx, sam, "CS101", f.term, sec); !errors.As(err, &numberTaken) || numberTaken.Number != "01" {
		t.Errorf("a number in use: %v", err)
	}

	// One student holds the seat, two wait.
	s1, s2, s3 := f.student("s1"), f.student("s2"), f.student("s3")
	course := f.count("SELECT course_id FROM sections WHERE id = ?", id)
	f.exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, 'register')", s1, id, course, f.term)
	f.exec("UPDATE sections SET enrolled = 1 WHERE id = ?", id)
	f.exec("INSERT INTO waitlist_entries (user_id, section_id) VALUES (?, ?), (?, ?)", s2, id, s3, id)

	sec.Capacity = 0
	var capacity *registration.CapacityError
	if _, err := f.svc.UpdateSection(f.ctx, sam, id, sec); !errors.As(err, &capacity) || *capacity != (registration.CapacityError{Enrolled: 1}) {
		t.Errorf("a capacity below the students registered: %v", err)
	}
	// The new seat goes to s2, the first waiting, not to anyone who asks first.
	sec.Capacity, sec.Room = 2, "ENG-201"
	if _, err := f.svc.UpdateSection(f.ctx, sam, id, sec); err != nil {
		t.Fatal(err)
	}
	if n := f.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ? AND source = 'waitlist'", s2, id); n != 1 {
		t.Error("s2 did not get the new seat")
	}
	if before, after := f.details("section.update"); before["capacity"] != 1.0 || after["capacity"] != 2.0 || after["room"] != "ENG-201" {
		t.Errorf("section.update before %v after %v", before, after)
	}

	var inUse *catalog.SectionInUseError
	if _, err := f.svc.DeleteSection(f.ctx, sam, id); !errors.As(err, &inUse) || *inUse != (catalog.SectionInUseError{Enrollments: 2, Waiting: 1}) {
		t.Errorf("delete a section in use: %v", err)
	}
	other, _, err := f.svc.CreateSection(f.ctx, sam, "CS101", f.term, catalog.Section{Number: "02", Capacity: 5})
	if err != nil {
		t.Fatal(err)
	}
	if label, err := f.svc.DeleteSection(f.ctx, sam, other); err != nil || label != "CS101-02" {
		t.Errorf("delete an empty section: %q %v", label, err)
	}
	want := []string{"sam section.create section#" + itoa(id), "sam section.update section#" + itoa(id),
		"sam section.create section#" + itoa(other), "sam section.delete section#" + itoa(other)}
	if got := f.audit(); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
}

func TestWindows(t *testing.T) {
	f := newFixture(t)
	opens := time.Date(2027, 2, 15, 1, 0, 0, 0, time.UTC)
	w := catalog.Window{ClassYear: 2, Phase: db.RegistrationWindowsPhaseRegistration, Opens: opens, Closes: opens.Add(2 * time.Hour)}
	if _, err := f.svc.CreateWindow(f.ctx, sam, f.term+100, w); !errors.Is(err, catalog.ErrNoTerm) {
		t.Errorf("an unknown term: %v", err)
	}
	id, err := f.svc.CreateWindow(f.ctx, sam, f.term, w)
	if err != nil {
		t.Fatal(err)
	}
	if _, after := f.details("window.create"); after["class_year"] != "2" || after["term"] != "2027-1" || after["opens_at"] != "2027-02-15T01:00:00Z" {
		t.Errorf("window.create after %v", after)
	}
	if err := f.svc.UpdateWindow(f.ctx, sam, id, w); err != nil {
		t.Fatal(err)
	}
	w.ClassYear = 0
	if err := f.svc.UpdateWindow(f.ctx, sam, id, w); err != nil {
		t.Fatal(err)
	}
	if before, after := f.details("window.update"); before["class_year"] != "2" || after["class_year"] != "all" {
		t.Errorf("window.update before %v after %v", before, after)
	}
	f.exec(`INSERT INTO waiting_room_tickets (window_id, user_id, prequeue, joined_at, last_seen_at, changed_at)
		VALUES (?, ?, FALSE, NOW(6), NOW(6), NOW(6))`, id, f.student("s1"))
	var inUse *catalog.WindowInUseError
	if _, err := f.svc.DeleteWindow(f.ctx, sam, id); !errors.As(err, &inUse) || inUse.Tickets != 1 {
		t.Errorf("delete a window with a waiting room in use: %v", err)
	}
	f.exec("DELETE FROM waiting_room_tickets")
	if term, err := f.svc.DeleteWindow(f.ctx, sam, id); err != nil || term != f.term {
		t.Errorf("delete: term %d %v", term, err)
	}
	n := itoa(id)
	want := []string{"sam window.create registration_window#" + n, "sam window.update registration_window#" + n, "sam window.delete registration_window#" + n}
	if got := f.audit(); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
}
