package registration_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
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

// BenchmarkSearch is the catalog page's search over 2,000 sections in memory, without a
// filter and with the filters of issue 18 (a page of 25 and the total, as the page asks).
func BenchmarkSearch(b *testing.B) {
	sqldb, _ := dbtest.New(b)
	ctx := context.Background()
	q := db.New(sqldb)
	dept, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "Computer Science"})
	if err != nil {
		b.Fatal(err)
	}
	term, err := q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: now.AddDate(0, 1, 0), EndsOn: now.AddDate(0, 5, 0)})
	if err != nil {
		b.Fatal(err)
	}
	svc := registration.New(sqldb, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	var courses, sections, meetings [][]any
	kinds := []string{"major_required", "major_elective", "general_elective", ""}
	for i := range 1000 {
		courses = append(courses, []any{dept, fmt.Sprintf("C%04d", i), fmt.Sprintf("Course %d", i), 3, "", kinds[i%4], i % 5, i%3 != 0})
	}
	if err := q.BulkInsert(ctx, "courses", []string{"department_id", "code", "title", "credits", "description", "course_type", "class_year", "open_to_others"}, courses); err != nil {
		b.Fatal(err)
	}
	rows, err := sqldb.Query("SELECT id FROM courses ORDER BY id")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			b.Fatal(err)
		}
		sections = append(sections, []any{id, term, "01", 30}, []any{id, term, "02", 30})
	}
	if err := q.BulkInsert(ctx, "sections", []string{"course_id", "term_id", "number", "capacity"}, sections); err != nil {
		b.Fatal(err)
	}
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM sections").Scan(new(int)); err != nil {
		b.Fatal(err)
	}
	ids, err := sqldb.Query("SELECT id FROM sections ORDER BY id")
	if err != nil {
		b.Fatal(err)
	}
	for n := 0; ids.Next(); n++ {
		var id int64
		if err := ids.Scan(&id); err != nil {
			b.Fatal(err)
		}
		start := 9*60 + 90*(n%6)
		meetings = append(meetings, []any{id, 1 + n%5, start, start + 75}, []any{id, 1 + (n+2)%5, start, start + 75})
	}
	if err := q.BulkInsert(ctx, "section_meetings", []string{"section_id", "weekday", "start_minute", "end_minute"}, meetings); err != nil {
		b.Fatal(err)
	}
	if err := q.BumpCatalogVersion(ctx); err != nil {
		b.Fatal(err)
	}
	cat, err := svc.FreshCatalog(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		q    registration.Search
	}{
		{"none", registration.Search{}},
		{"keyword", registration.Search{Keyword: "course 9"}},
		{"type+year+open", registration.Search{CourseType: "major_required", ClassYear: 2, OpenToOthers: true}},
		{"day+period", registration.Search{Weekday: 3, Period: 4}},
		{"all", registration.Search{Keyword: "course", CourseType: "major_elective", ClassYear: 1, Weekday: 2, Period: 2, OpenToOthers: true}},
	} {
		bc.q.TermID = term
		b.Run(bc.name, func(b *testing.B) {
			var total int
			for b.Loop() {
				_, total = cat.Search(bc.q, 0, 25)
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}
