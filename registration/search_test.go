package registration_test

import (
	"context"
	"slices"
	"testing"

	"github.com/schoolservice/school/registration"
)

// Each catalog filter keeps exactly the sections that pass it, alone and combined, and the
// keyword finds a course by its Korean title too.
func TestSearchFilters(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ee := w.id(w.exec("INSERT INTO departments (code, name, name_ko) VALUES ('EE', 'Electrical Engineering', '전기공학과')"))
	course := func(code string, dept int64, credits int, kind string, year int, open bool, titleKo string) int64 {
		return w.id(w.exec(`INSERT INTO courses (department_id, code, title, credits, description, title_ko, course_type, class_year, open_to_others)
			VALUES (?, ?, ?, ?, '', ?, ?, ?, ?)`, dept, code, "Course "+code, credits, titleKo, kind, year, open))
	}
	w.section(course("CS101", w.dept, 3, "major_required", 1, false, "프로그래밍"), "01", 30, mon, hm(9, 0), hm(10, 15)) // periods 1-2
	w.section(course("CS201", w.dept, 3, "major_elective", 2, true, "자료구조"), "01", 30, tue, hm(13, 0), hm(14, 15))  // periods 5-6
	w.section(course("EE101", ee, 2, "general_elective", 1, true, "회로이론"), "01", 30, mon, hm(13, 30), hm(15, 0))    // periods 5-6
	w.section(course("EE301", ee, 3, "", 3, true, ""), "01", 30, wed, hm(18, 0), hm(19, 0))                         // period 10

	ctx := context.Background()
	cat, err := w.svc.FreshCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		q    registration.Search
		want []string
	}{
		{"none", registration.Search{}, []string{"CS101-01", "CS201-01", "EE101-01", "EE301-01"}},
		{"department", registration.Search{Department: "EE"}, []string{"EE101-01", "EE301-01"}},
		{"course type", registration.Search{CourseType: "major_required"}, []string{"CS101-01"}},
		{"general elective", registration.Search{CourseType: "general_elective"}, []string{"EE101-01"}},
		{"class year", registration.Search{ClassYear: 1}, []string{"CS101-01", "EE101-01"}},
		{"class year with none", registration.Search{ClassYear: 4}, nil},
		{"weekday", registration.Search{Weekday: mon}, []string{"CS101-01", "EE101-01"}},
		{"period", registration.Search{Period: 5}, []string{"CS201-01", "EE101-01"}},
		{"period touched by the end", registration.Search{Period: 2}, []string{"CS101-01"}},
		{"period after the end", registration.Search{Period: 3}, nil},
		{"evening period", registration.Search{Period: 10}, []string{"EE301-01"}},
		{"weekday and period", registration.Search{Weekday: mon, Period: 6}, []string{"EE101-01"}},
		{"open to other departments", registration.Search{OpenToOthers: true}, []string{"CS201-01", "EE101-01", "EE301-01"}},
		{"open, year 1", registration.Search{OpenToOthers: true, ClassYear: 1}, []string{"EE101-01"}},
		{"department, type and credits", registration.Search{Department: "CS", CourseType: "major_elective", Credits: 3}, []string{"CS201-01"}},
		{"combined to nothing", registration.Search{Department: "CS", Weekday: wed}, nil},
		{"Korean title", registration.Search{Keyword: "자료"}, []string{"CS201-01"}},
		{"keyword and weekday", registration.Search{Keyword: "course", Weekday: wed}, []string{"EE301-01"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.q.TermID = w.term
			found, total := cat.Search(c.q, 0, 50)
			var got []string
			for _, l := range found {
				got = append(got, l.Label())
			}
			if !slices.Equal(got, c.want) || total != len(c.want) {
				t.Errorf("found %v (total %d), want %v", got, total, c.want)
			}
		})
	}
	// The catalog carries the course facts the rows show.
	found, _ := cat.Search(registration.Search{TermID: w.term, Keyword: "CS101"}, 0, 1)
	if len(found) != 1 || found[0].TitleKo != "프로그래밍" || found[0].CourseType != "major_required" || found[0].ClassYear != 1 || found[0].OpenToOthers {
		t.Errorf("CS101 in the catalog = %+v", found)
	}
}
