package catalogcsv

import (
	"slices"
	"testing"
)

// The course detail columns: each value is checked, a course's rows must agree on them,
// and a file without them (one written before they existed) still parses, with none of
// them marked present so that the import leaves stored values alone.
func TestParseCatalogCourseDetails(t *testing.T) {
	const header = "department,course_code,title,credits,term,section,capacity,title_ko,course_type,class_year,open_to_other_departments,description,syllabus_url\n"
	cases := []struct {
		name, file string
		want       []string
	}{
		{"good", header +
			"CS,CS101,Programming,3,2027-1,01,30,프로그래밍,전공필수,1,N,\"Variables, loops\nand functions\",https://cs.example.ac.kr/syllabus/CS101\n" +
			"CS,CS101,Programming,3,2027-1,02,30,프로그래밍,major_required,1,no,\"Variables, loops\nand functions\",https://cs.example.ac.kr/syllabus/CS101\n" +
			"CS,CS102,Writing,2,,,,,교양,,,,\n", nil},
		{"bad values", header +
			"CS,CS101,A,3,2027-1,01,30,,전공,1,Y,,\n" + // 2: no such type
			"CS,CS102,A,3,2027-1,01,30,,,7,Y,,\n" + // 3: year out of range
			"CS,CS103,A,3,2027-1,01,30,,,1,maybe,,\n" + // 4: flag
			"CS,CS104,A,3,2027-1,01,30,,,1,Y,,javascript:alert(1)\n" + // 5: scheme
			"CS,CS105,A,3,2027-1,01,30,,,1,Y,,ftp://example.ac.kr/s\n" + // 6: scheme
			"CS,CS106,A,3,2027-1,01,30,,,1,Y,,/syllabus/CS106\n" + // 7: relative
			"CS,CS107,A,3,2027-1,01,30,,,1,Y,,https://\n" + // 8: no host
			"CS,CS108,A,3,2027-1,01,30,,전공선택,2,Y,,\n" +
			"CS,CS108,A,3,2027-1,02,30,,전공필수,2,Y,,\n", // 10: type differs from line 9
			[]string{"2:bad_course_type", "3:bad_number", "4:bad_flag", "5:bad_url", "6:bad_url", "7:bad_url", "8:bad_url", "10:course_differs"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, ps := ParseCatalog([]byte(c.file))
			if got := codes(ps); !slices.Equal(got, c.want) {
				t.Errorf("problems = %v, want %v (%+v)", got, c.want, ps)
			}
		})
	}

	f, ps := ParseCatalog([]byte(cases[0].file))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	want := CourseDetails{TitleKo: "프로그래밍", CourseType: "major_required", ClassYear: 1, OpenToOthers: false,
		Description: "Variables, loops\nand functions", SyllabusURL: "https://cs.example.ac.kr/syllabus/CS101"}
	if f.Rows[0].CourseDetails != want {
		t.Errorf("details = %+v, want %+v", f.Rows[0].CourseDetails, want)
	}
	if d := f.Rows[2].CourseDetails; d.CourseType != "general_elective" || !d.OpenToOthers || d.ClassYear != 0 {
		t.Errorf("defaults of a course-only row = %+v", d)
	}
	for _, col := range CourseDetailColumns {
		if !f.Has[col] {
			t.Errorf("Has[%s] = false for a file with the column", col)
		}
	}

	old, ps := ParseCatalog([]byte("department,course_code,title,credits,term,section,capacity\nCS,CS101,Intro,3,2027-1,01,30\n"))
	if len(ps) > 0 {
		t.Fatalf("an old file: %v", ps)
	}
	for _, col := range CourseDetailColumns {
		if old.Has[col] {
			t.Errorf("Has[%s] = true for a file without the column", col)
		}
	}
}

func TestCheckSyllabusURL(t *testing.T) {
	for v, ok := range map[string]bool{
		"": true, "https://example.ac.kr/s/CS101": true, "http://example.ac.kr/s?c=CS101&t=2027-1": true, "HTTPS://EXAMPLE.AC.KR/x": true,
		"javascript:alert(1)": false, "JavaScript:alert(1)": false, "data:text/html,hi": false, "//example.ac.kr/s": false,
		"example.ac.kr/s": false, "https://user:pw@example.ac.kr/": false, "https://example.ac.kr/a b": false,
		"https://example.ac.kr/\"onmouseover=\"x": false, "mailto:prof@example.ac.kr": false,
	} {
		if _, got := CheckSyllabusURL(v); got != ok {
			t.Errorf("CheckSyllabusURL(%q) = %v, want %v", v, got, ok)
		}
	}
}
