package seed

import (
	"slices"
	"strings"
	"testing"

	"github.com/schoolservice/school/catalogcsv"
)

// Every generated course has a Korean title, a course type the catalog knows, a year that
// fits its type, both languages in its description and, when it has one, an https
// syllabus link; every department and term has a Korean name; and each course type the
// catalog filters by occurs.
func TestKoreanCourseData(t *testing.T) {
	ds := Generate(Sizes{Students: 10, Sections: 400, Staff: 1}, 1)
	types := map[string]int{}
	for _, c := range ds.Courses {
		types[c.Type]++
		if c.TitleKo == "" || !strings.ContainsFunc(c.TitleKo, func(r rune) bool { return r >= '가' && r <= '힣' }) {
			t.Errorf("%s %q has the Korean title %q", c.Code, c.Title, c.TitleKo)
		}
		if !slices.Contains(catalogcsv.CourseTypes, c.Type) {
			t.Errorf("%s has the course type %q", c.Code, c.Type)
		}
		if general := strings.HasPrefix(c.Type, "general") || c.Type == "free_elective"; general != (c.Year == 0) || !general && c.Year != c.Level {
			t.Errorf("%s (%s, level %d) is meant for year %d", c.Code, c.Type, c.Level, c.Year)
		}
		if en, ko, ok := strings.Cut(c.Description, "\n"); !ok || en == "" || ko == "" {
			t.Errorf("%s's description is not in both languages: %q", c.Code, c.Description)
		}
		if u, ok := catalogcsv.CheckSyllabusURL(c.SyllabusURL); !ok || u != "" && !strings.HasPrefix(u, "https://") {
			t.Errorf("%s's syllabus link %q", c.Code, c.SyllabusURL)
		}
	}
	for _, kind := range catalogcsv.CourseTypes {
		if types[kind] == 0 {
			t.Errorf("no course of type %s among %d: %v", kind, len(ds.Courses), types)
		}
	}
	for _, d := range ds.Departments {
		if DepartmentNameKo(d.Code) == "" {
			t.Errorf("department %s has no Korean name", d.Code)
		}
	}
	for _, code := range []string{Term.Code, Term.PreviousCode} {
		if TermNamesKo[code] == "" {
			t.Errorf("term %s has no Korean name", code)
		}
	}
}
