package web_test

import (
	"database/sql"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// courseDetails gives the fixture's courses the facts a Korean registrar keeps, and
// their departments and term Korean names.
func courseDetails(t testing.TB, sqldb *sql.DB) {
	t.Helper()
	for _, stmt := range []string{
		`UPDATE courses SET title_ko = '프로그래밍 입문', course_type = 'major_required', class_year = 1, open_to_others = FALSE,
			description = 'Variables, loops and functions in Python.', syllabus_url = 'https://cs.example.ac.kr/syllabus/CS101' WHERE code = 'CS101'`,
		`UPDATE courses SET title_ko = '자료구조', course_type = 'major_elective', class_year = 2, open_to_others = TRUE WHERE code = 'CS201'`,
		`UPDATE courses SET title_ko = '미적분학 I', course_type = 'general_required', class_year = 1, open_to_others = TRUE WHERE code = 'MATH101'`,
		`UPDATE courses SET course_type = 'general_elective', class_year = 0, open_to_others = TRUE WHERE code = 'MATH150'`,
		`UPDATE departments SET name_ko = '컴퓨터공학과' WHERE code = 'CS'`,
		`UPDATE departments SET name_ko = '수학과' WHERE code = 'MATH'`,
		`UPDATE terms SET name_ko = '2027학년도 1학기' WHERE code = '2027-1'`,
	} {
		if _, err := sqldb.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	catalogChanged(t, sqldb)
}

// sectionLabels are the section rows a catalog page lists, as "CS101-01".
func sectionLabels(t testing.TB, body string) []string {
	t.Helper()
	var out []string
	doc(t, body).Find(`[data-testid="section-row"]`).Each(func(_ int, row *goquery.Selection) {
		code := strings.TrimSpace(row.Find("td.course strong").Text())
		number := strings.TrimSpace(row.Find("td").Eq(1).Text())
		out = append(out, code+"-"+number)
	})
	return out
}

// TestCatalogCourseFilters: each new filter of the catalog page narrows the sections to
// those that pass it, filters combine, and a bad value is reported and left out.
// (Meetings of the fixture: CS101 Mon/Wed 09:00-10:15, CS201 Tue/Thu 13:00-14:15,
// MATH101 Mon/Wed/Fri 11:00-11:50, MATH150 Fri 15:00-16:40.)
func TestCatalogCourseFilters(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	courseDetails(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	all := []string{"CS101-01", "CS101-02", "CS201-01", "MATH101-01", "MATH101-02", "MATH150-01"}
	meetings := map[string][]string{}
	_, body := app.get(t, c, "/courses")
	if got := sectionLabels(t, body); !slices.Equal(got, all) {
		t.Fatalf("unfiltered catalog = %v, want %v", got, all)
	}
	doc(t, body).Find(`[data-testid="section-row"]`).Each(func(_ int, row *goquery.Selection) {
		label := strings.TrimSpace(row.Find("td.course strong").Text()) + "-" + strings.TrimSpace(row.Find("td").Eq(1).Text())
		meetings[label] = append(meetings[label], strings.TrimSpace(row.Find("td").Eq(3).Text()))
	})
	t.Logf("fixture meetings: %v", meetings)

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"type=major_required", []string{"CS101-01", "CS101-02"}},
		{"type=전공선택", []string{"CS201-01"}},
		{"type=general_required", []string{"MATH101-01", "MATH101-02"}},
		{"year=1", []string{"CS101-01", "CS101-02", "MATH101-01", "MATH101-02"}},
		{"year=2", []string{"CS201-01"}},
		{"others=1", []string{"CS201-01", "MATH101-01", "MATH101-02", "MATH150-01"}},
		{"dept=CS&others=1", []string{"CS201-01"}},
		{"year=1&others=1&dept=MATH&credits=4", []string{"MATH101-01", "MATH101-02"}},
		{"type=major_required&year=2", nil},
	} {
		res, body := app.get(t, c, "/courses?"+tc.query)
		if got := sectionLabels(t, body); res.StatusCode != http.StatusOK || !slices.Equal(got, tc.want) {
			t.Errorf("/courses?%s: %d %v, want %v", tc.query, res.StatusCode, got, tc.want)
		}
	}

	// Day and period narrow to the sections meeting then, whatever the fixture's times:
	// each answer is checked against the meetings the unfiltered page showed.
	for _, tc := range []struct{ query, day, clock string }{
		{"day=1", "Mon", ""}, {"day=5", "Fri", ""}, {"period=1", "", "09:"}, {"day=1&period=1", "Mon", "09:"},
	} {
		_, body := app.get(t, c, "/courses?"+tc.query)
		got := sectionLabels(t, body)
		var want []string
		for _, label := range all {
			for _, m := range meetings[label] {
				if strings.Contains(m, tc.day) && (tc.clock == "" || strings.Contains(m, tc.day+" "+tc.clock) || tc.day == "" && strings.Contains(m, " "+tc.clock)) {
					want = append(want, label)
					break
				}
			}
		}
		if !slices.Equal(got, want) || len(want) == 0 || len(want) == len(all) {
			t.Errorf("/courses?%s = %v, want %v (a filter that narrows)", tc.query, got, want)
		}
	}

	for _, tc := range []struct{ query, want string }{
		{"type=lab", "There is no such course type"},
		{"year=9", "The year must be"},
		{"day=8", "The day must be"},
		{"period=13", "The period must be"},
	} {
		res, body := app.get(t, c, "/courses?"+tc.query)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, tc.want) || len(sectionLabels(t, body)) != len(all) {
			t.Errorf("/courses?%s: %d, %d rows; want 400 with %q and the filter dropped", tc.query, res.StatusCode, len(sectionLabels(t, body)), tc.want)
		}
	}
	res, body := app.get(t, c, "/courses?period=13", "Accept-Language", "ko")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "교시는 1에서 12 사이의 정수여야 합니다") {
		t.Errorf("the Korean page lacks the Korean message: %d", res.StatusCode)
	}

	// The rows show the title in the page's language and the course type.
	_, body = app.get(t, c, "/courses?type=major_required", "Accept-Language", "ko")
	row := doc(t, body).Find(`[data-testid="section-row"]`).First()
	if title := strings.TrimSpace(row.Find(`[data-testid="course-link"]`).Text()); title != "프로그래밍 입문" {
		t.Errorf("Korean row title = %q", title)
	}
	if kind := strings.TrimSpace(row.Find(`[data-testid="course-type"]`).Text()); kind != "전공필수" {
		t.Errorf("Korean row type = %q", kind)
	}
	_, body = app.get(t, c, "/courses?q=MATH150", "Accept-Language", "ko")
	if title := testid(t, body, "course-link"); title != "Discrete Mathematics_%" {
		t.Errorf("a course without a Korean title shows %q on the Korean page, want the English one", title)
	}
}

// TestCoursePage: a student reads a course's facts, description and syllabus link in
// the page's language; a link that is not plain http(s) is never an href.
func TestCoursePage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	courseDetails(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)

	res, body := app.get(t, c, "/courses/CS101")
	d := doc(t, body)
	if res.StatusCode != http.StatusOK || testid(t, body, "course-title") != "CS101 Introduction to Programming" ||
		testid(t, body, "course-title-other") != "프로그래밍 입문" || testid(t, body, "course-info-type") != "Major required" ||
		testid(t, body, "course-year") != "Year 1" || !strings.Contains(testid(t, body, "course-open"), "Only for the department") {
		t.Errorf("CS101 page: %d %q / %q / %q / %q / %q", res.StatusCode, testid(t, body, "course-title"), testid(t, body, "course-title-other"),
			testid(t, body, "course-info-type"), testid(t, body, "course-year"), testid(t, body, "course-open"))
	}
	if href, _ := d.Find(`[data-testid="syllabus-link"]`).Attr("href"); href != "https://cs.example.ac.kr/syllabus/CS101" {
		t.Errorf("syllabus href = %q", href)
	}
	if rel, _ := d.Find(`[data-testid="syllabus-link"]`).Attr("rel"); !strings.Contains(rel, "noopener") {
		t.Errorf("syllabus rel = %q", rel)
	}
	if got := testid(t, body, "course-description"); got != "Variables, loops and functions in Python." {
		t.Errorf("description = %q", got)
	}
	if n := d.Find(`[data-testid="course-sections"] [data-testid="section-row"]`).Length(); n != 2 {
		t.Errorf("%d sections on the course page, want 2", n)
	}

	_, body = app.get(t, c, "/courses/cs101", "Accept-Language", "ko")
	if testid(t, body, "course-title") != "CS101 프로그래밍 입문" || testid(t, body, "course-title-other") != "Introduction to Programming" ||
		testid(t, body, "course-info-type") != "전공필수" || testid(t, body, "course-year") != "1학년" {
		t.Errorf("Korean CS101 page: %q / %q / %q / %q", testid(t, body, "course-title"), testid(t, body, "course-title-other"),
			testid(t, body, "course-info-type"), testid(t, body, "course-year"))
	}

	// The database refuses other schemes; an address the app would not accept (a space,
	// a quote) is shown as no link at all.
	if _, err := app.DB.Exec("UPDATE courses SET syllabus_url = 'javascript:alert(1)' WHERE code = 'CS201'"); err == nil {
		t.Error("the database kept a javascript: syllabus link")
	}
	if _, err := app.DB.Exec(`UPDATE courses SET syllabus_url = 'https://x.example/"><script>alert(1)</script>' WHERE code = 'CS201'`); err != nil {
		t.Fatal(err)
	}
	_, body = app.get(t, c, "/courses/CS201")
	if doc(t, body).Find(`[data-testid="syllabus-link"]`).Length() != 0 || testid(t, body, "no-syllabus") == "" || strings.Contains(body, "<script>alert") {
		t.Error("a syllabus address with markup was linked or written as markup")
	}
	if res, _ := app.get(t, c, "/courses/NOPE999"); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown course: %d, want 404", res.StatusCode)
	}
}

// TestAdminCourseDetails: the course form checks the new fields with a message in both
// languages and saves them; departments and terms take Korean names.
func TestAdminCourseDetails(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	admin := app.client(t)
	app.login(t, admin, ada)
	dept := itoa(int64(app.count(t, "SELECT id FROM departments WHERE code = 'CS'")))
	course := itoa(int64(app.count(t, "SELECT id FROM courses WHERE code = 'CS201'")))
	form := func(change map[string]string) url.Values {
		v := url.Values{"department_id": {dept}, "code": {"CS201"}, "title": {"Data Structures"}, "credits": {"3"}, "prerequisites": {"CS101"},
			"title_ko": {"자료구조"}, "course_type": {"major_elective"}, "class_year": {"2"}, "open_to_others": {"1"},
			"syllabus_url": {"https://cs.example.ac.kr/syllabus/CS201"}, "description": {"Lists, trees and graphs."}}
		for k, x := range change {
			v.Set(k, x)
		}
		return v
	}
	for _, tc := range []struct {
		change map[string]string
		field  string
		en, ko string
	}{
		{map[string]string{"syllabus_url": "javascript:alert(1)"}, "syllabus_url", "starting with http:// or https://", "http:// 또는 https://로 시작하는"},
		{map[string]string{"syllabus_url": "ftp://cs.example.ac.kr/s"}, "syllabus_url", "starting with http:// or https://", "http:// 또는 https://로 시작하는"},
		{map[string]string{"syllabus_url": "cs.example.ac.kr/s"}, "syllabus_url", "starting with http:// or https://", "http:// 또는 https://로 시작하는"},
		{map[string]string{"course_type": "lab"}, "course_type", "Choose one of the listed course types", "이수구분 중 하나를 고르세요"},
		{map[string]string{"class_year": "7"}, "class_year", "from 0 to 6", "0"},
		{map[string]string{"title_ko": strings.Repeat("가", 201)}, "title_ko", "at most 200", "200"},
	} {
		for _, lang := range []string{"en", "ko"} {
			res, body := app.post(t, admin, "/admin/courses/"+course, form(tc.change), "HX-Request", "true", "Accept-Language", lang)
			want := tc.en
			if lang == "ko" {
				want = tc.ko
			}
			if got := testid(t, body, "error-"+tc.field); res.StatusCode != http.StatusBadRequest || !strings.Contains(got, want) {
				t.Errorf("%s %v: %d %q, want 400 with %q", lang, tc.change, res.StatusCode, got, want)
			}
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM courses WHERE code = 'CS201' AND title_ko <> ''"); n != 0 {
		t.Fatal("a refused form changed the course")
	}
	if res, _ := app.post(t, admin, "/admin/courses/"+course, form(nil), "HX-Request", "true"); res.StatusCode != http.StatusOK {
		t.Fatalf("save: %d", res.StatusCode)
	}
	var titleKo, kind, syllabus string
	var year int
	var open bool
	if err := app.DB.QueryRow("SELECT title_ko, course_type, class_year, open_to_others, syllabus_url FROM courses WHERE code = 'CS201'").
		Scan(&titleKo, &kind, &year, &open, &syllabus); err != nil {
		t.Fatal(err)
	}
	if titleKo != "자료구조" || kind != "major_elective" || year != 2 || !open || syllabus != "https://cs.example.ac.kr/syllabus/CS201" {
		t.Errorf("saved %q %q %d %v %q", titleKo, kind, year, open, syllabus)
	}
	// The edit page shows the stored values; unticking the switch closes the course.
	_, body := app.get(t, admin, "/admin/courses/"+course)
	if v, _ := doc(t, body).Find(`select[name="course_type"] option[selected]`).Attr("value"); v != "major_elective" {
		t.Errorf("course type shown = %q", v)
	}
	closed := form(map[string]string{"course_type": "전공필수"})
	closed.Del("open_to_others")
	if res, _ := app.post(t, admin, "/admin/courses/"+course, closed, "HX-Request", "true"); res.StatusCode != http.StatusOK {
		t.Fatalf("save closed: %d", res.StatusCode)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM courses WHERE code = 'CS201' AND NOT open_to_others AND course_type = 'major_required'"); n != 1 {
		t.Error("the course is not closed to other departments with the Korean type name saved as its code")
	}

	// Korean names of a department and a term.
	if res, _ := app.post(t, admin, "/admin/departments/"+dept, url.Values{"code": {"CS"}, "name": {"Computer Science"}, "name_ko": {"컴퓨터공학과"}}, "HX-Request", "true"); res.StatusCode != http.StatusOK {
		t.Fatalf("department: %d", res.StatusCode)
	}
	term := itoa(int64(app.count(t, "SELECT id FROM terms WHERE code = '2027-1'")))
	if res, _ := app.post(t, admin, "/admin/terms/"+term, url.Values{"code": {"2027-1"}, "name": {"Spring 2027"}, "name_ko": {"2027학년도 1학기"},
		"starts_on": {"2027-03-02"}, "ends_on": {"2027-06-20"}}, "HX-Request", "true"); res.StatusCode != http.StatusOK {
		t.Fatalf("term: %d", res.StatusCode)
	}
	if app.count(t, "SELECT COUNT(*) FROM departments WHERE name_ko = '컴퓨터공학과'") != 1 || app.count(t, "SELECT COUNT(*) FROM terms WHERE name_ko = '2027학년도 1학기'") != 1 {
		t.Error("the Korean names were not saved")
	}
	stu := app.client(t)
	app.login(t, stu, alice)
	_, body = app.get(t, stu, "/courses", "Accept-Language", "ko")
	if !strings.Contains(body, "2027학년도 1학기") || !strings.Contains(body, "CS · 컴퓨터공학과") {
		t.Error("the Korean catalog page lacks the Korean term or department name")
	}
}
