package catalogcsv

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func codes(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d:%s", p.Line, p.Code))
	}
	return out
}

func TestParseCatalogProblems(t *testing.T) {
	const header = "department,course_code,title,credits,term,section,capacity,instructor,room,meetings\n"
	cases := []struct {
		name, file string
		want       []string
	}{
		{"good", header + "CS,CS101,Intro,3,2027-1,01,30,Prof. A,R1,Mon 09:00-10:15; Wed 09:00-10:15\nCS,CS101,Intro,3,,,,,,\n", nil},
		{"bom and blank lines", "\xef\xbb\xbf" + header + "\n,,,,,,,,,\nCS,CS101,Intro,3,2027-1,01,30,,,\n", nil},
		{"empty", "", []string{"0:empty"}},
		{"header only", header, []string{"0:no_rows"}},
		{"missing and unknown columns", "department,course_code,title,credits,colour\n", []string{"1:unknown_column", "1:missing_column", "1:missing_column", "1:missing_column"}},
		{"duplicate column", "department,course_code,title,credits,term,section,capacity,Section\n", []string{"1:duplicate_column"}},
		{"not utf-8", header + "CS,CS101,\xb0\xed,3,2027-1,01,30,,,\n", []string{"0:not_utf8"}},
		{"bad values", header +
			"CS,,Intro,3,2027-1,01,30,,,\n" + // line 2: no course code
			"CS,CS102,Intro,13,2027-1,01,30,,,\n" + // 3: credits
			"CS,CS103,Intro,3,2027-1,01,-1,,,\n" + // 4: capacity
			"CS,CS104,Intro,3,2027-1,01,30,,,Mon 10:00-09:00\n" + // 5: meeting backwards
			"CS,CS105,Intro,3,2027-1,01,30,,,Mon 09:00-10:00; Mon 09:30-11:00\n" + // 6: overlap
			"CS,CS106,Intro,3,2027-1,,30,,,\n" + // 7: capacity without a section
			"CS,CS107,Intro,3,2027-1,01,30\n" + // 8: too few fields
			"CS,CS101,Intro,3,2027-1,01,30,,,\n" +
			"CS,CS101,Other,3,2027-1,02,30,,,\n" + // 10: title differs
			"CS,cs101,Intro,3,2027-1,01,30,,,\n", // 11: same section again
			[]string{"2:required", "3:bad_number", "4:bad_number", "5:bad_meeting", "6:meetings_overlap", "7:no_section", "8:field_count", "10:course_differs", "11:duplicate_section"}},
		{"bad quote", header + "CS,CS101,\"Intro,3,2027-1,01,30,,,\n", []string{"2:csv_syntax"}},
		{"multi-line field keeps line numbers", header + "CS,CS101,\"Intro\nto it\",3,2027-1,01,30,,,\nCS,CS102,Intro,x,2027-1,01,30,,,\n", []string{"4:bad_number"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ps := ParseCatalog([]byte(c.file))
			if got := codes(ps); !slices.Equal(got, c.want) {
				t.Errorf("problems = %v, want %v (%+v)", got, c.want, ps)
			}
		})
	}
}

func TestParseCatalogRows(t *testing.T) {
	f, ps := ParseCatalog([]byte("Course_Code,department,title,credits,term,section,capacity,meetings\n cs101 ,cs,Intro,3,2027-1,01,30,화 09:00–10:15;Thu 13:00-14:00\n"))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	want := SectionRow{Line: 2, Department: "CS", CourseCode: "CS101", Title: "Intro", Credits: 3, Term: "2027-1", Section: "01", Capacity: 30,
		Meetings: []Meeting{{2, 9 * 60, 10*60 + 15}, {4, 13 * 60, 14 * 60}}, CourseDetails: CourseDetails{OpenToOthers: true}}
	if len(f.Rows) != 1 || fmt.Sprint(f.Rows[0]) != fmt.Sprint(want) || !f.HasMeetings {
		t.Errorf("rows = %+v, want %+v", f.Rows, want)
	}
}

func TestCheckCatalog(t *testing.T) {
	f, ps := ParseCatalog([]byte("department,course_code,title,credits,term,section,capacity\n" +
		"CS,CS101,Intro,3,2027-1,01,25\n" + // existing section with 20 + 2 taken: fine
		"CS,CS101,Intro,3,2027-1,02,10\n" + // existing with 12 enrolled: refused
		"CS,CS101,Intro,3,2027-1,03,10\n" + // new
		"ART,ART1,Drawing,2,2027-1,01,10\n" + // no such department
		"CS,CS900,Thesis,6,2099-1,01,1\n")) // no such term
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	e := Existing{
		Departments: map[string]bool{"CS": true},
		Terms:       map[string]bool{"2027-1": true},
		Courses:     map[string]bool{"CS101": true},
		Sections: map[SectionKey]Taken{
			{"CS101", "2027-1", "01"}: {Enrolled: 20, Held: 2},
			{"CS101", "2027-1", "02"}: {Enrolled: 12},
		},
	}
	s, ps := CheckCatalog(f, e)
	if got, want := codes(ps), []string{"3:capacity_below_enrolled", "5:unknown_department", "6:unknown_term"}; !slices.Equal(got, want) {
		t.Errorf("problems = %v, want %v", got, want)
	}
	if want := (CatalogSummary{Rows: 5, NewCourses: 2, UpdatedCourses: 1, NewSections: 2, UpdatedSections: 2}); s != want {
		t.Errorf("summary = %+v, want %+v", s, want)
	}
	if p := ps[0]; !slices.Equal(p.Args, []string{"CS101-02 (2027-1)", "12", "0", "10"}) {
		t.Errorf("capacity problem args = %v", p.Args)
	}
}

func TestTranscripts(t *testing.T) {
	rows, ps := ParseTranscripts([]byte("student,course_code,term,grade\nalice,cs101,2026-2,A+\nAlice,CS101,2026-2,B\nbob,MATH101,2026-2,TOOLONG\n,CS101,2026-2,A\n"))
	if got, want := codes(ps), []string{"3:duplicate_completion", "4:too_long", "5:required"}; !slices.Equal(got, want) {
		t.Errorf("problems = %v, want %v", got, want)
	}
	if len(rows) != 1 || rows[0].CourseCode != "CS101" {
		t.Fatalf("rows = %+v", rows)
	}
	rows = append(rows, TranscriptRow{Line: 9, Student: "carol", CourseCode: "BIO1", Term: "x"})
	s, ps := CheckTranscripts(rows, Existing{Students: map[string]bool{"alice": true}, Courses: map[string]bool{"CS101": true}})
	if got, want := codes(ps), []string{"9:unknown_student", "9:unknown_course"}; !slices.Equal(got, want) {
		t.Errorf("problems = %v, want %v", got, want)
	}
	if s.Students != 2 || s.Rows != 2 {
		t.Errorf("summary = %+v", s)
	}
}

func TestTooManyProblemsStops(t *testing.T) {
	var b strings.Builder
	b.WriteString("student,course_code,term\n")
	for range MaxProblems + 50 {
		b.WriteString("x,,\n")
	}
	_, ps := ParseTranscripts([]byte(b.String()))
	if len(ps) != MaxProblems {
		t.Errorf("%d problems, want %d", len(ps), MaxProblems)
	}
}
