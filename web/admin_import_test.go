package web_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// upload posts a CSV file to the import form the way a browser does.
func (a *testApp) upload(t testing.TB, c *http.Client, kind, name, content string) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if err := mw.WriteField("kind", kind); err != nil {
		t.Fatal(err)
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(content))
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, a.URL+"/admin/import", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", a.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return a.do(t, c, req)
}

var runAction = regexp.MustCompile(`/admin/import/(\d+)/run`)

// importFile uploads a file that must pass the checks, confirms it, and waits for the
// import to end. It returns the job's final progress fragment.
func (a *testApp) importFile(t testing.TB, c *http.Client, kind, name, content string) string {
	t.Helper()
	res, body := a.upload(t, c, kind, name, content)
	m := runAction.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("upload %s: status %d, no confirm button\n%s", name, res.StatusCode, body)
	}
	if res, body := a.post(t, c, m[0], nil, "HX-Request", "true"); res.StatusCode != http.StatusOK || testid(t, body, "import-progress") == "" {
		t.Fatalf("confirm %s: status %d\n%s", name, res.StatusCode, body)
	}
	var last string
	eventually(t, "the import of "+name+" to end", func() bool {
		_, last = a.get(t, c, "/admin/import/"+m[1]+"/progress", "HX-Request", "true")
		state, _ := doc(t, last).Find(`[data-testid="import-progress"]`).Attr("data-state")
		return state == "done" || state == "failed"
	})
	return last
}

// problemLines are the line numbers of the problems a page lists.
func problemLines(t testing.TB, body string) []int {
	t.Helper()
	var lines []int
	doc(t, body).Find(`[data-testid="import-problem"]`).Each(func(_ int, s *goquerySelection) {
		n, _ := strconv.Atoi(s.AttrOr("data-line", ""))
		lines = append(lines, n)
	})
	return lines
}

const catalogHeader = "department,course_code,title,credits,term,section,capacity,instructor,room,meetings\n"

// TestImportWithProblemsWritesNothing: a file with bad rows is refused as a whole, and
// the preview lists every bad row with its line and a reason staff understand.
func TestImportWithProblemsWritesNothing(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	file := catalogHeader +
		"CS,CS301,Operating Systems,3,2027-1,01,40,Prof. Ken Thompson,ENG-201,Mon 13:00-14:15\n" + // 2: good
		"ART,ART101,Drawing,2,2027-1,01,20,,,\n" + // 3: no such department
		"CS,CS302,Compilers,three,2027-1,01,40,,,\n" + // 4: credits not a number
		"CS,CS201,Data Structures,3,2027-1,01,5,,,\n" + // 5: 10 students hold CS201-01
		"CS,CS303,Networks,3,2031-9,01,40,,,\n" + // 6: no such term
		"CS,CS301,Operating Systems,3,2027-1,01,40,,,\n" + // 7: same section as line 2
		"CS,CS304,Databases,3,2027-1,01,40,,,Monday 9-10\n" // 8: meeting not understood
	before := app.count(t, "SELECT COUNT(*) FROM sections") + app.count(t, "SELECT COUNT(*) FROM courses")

	res, body := app.upload(t, staff, "catalog", "fall.csv", file)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422\n%s", res.StatusCode, body)
	}
	if got, want := problemLines(t, body), []int{3, 4, 5, 6, 7, 8}; !slices.Equal(got, want) {
		t.Errorf("problem lines = %v, want %v", got, want)
	}
	problems := testid(t, body, "import-problem")
	for _, want := range []string{
		"There is no department ART",
		`"credits" is "three"; it must be a whole number from 0 to 12`,
		"CS201-01 (2027-1) has 10 students registered and 0 seats held for its waitlist; the capacity cannot be 5",
		"There is no term 2031-9",
		"Section CS301-01 (2027-1) is already on line 2",
		`The meeting "Monday 9-10" is not like "Mon 09:00-10:15"`,
	} {
		if !strings.Contains(problems, want) {
			t.Errorf("the problems do not say %q:\n%s", want, problems)
		}
	}
	if runAction.MatchString(body) {
		t.Error("a file with problems can be confirmed")
	}
	after := app.count(t, "SELECT COUNT(*) FROM sections") + app.count(t, "SELECT COUNT(*) FROM courses")
	if after != before || app.count(t, "SELECT COUNT(*) FROM import_jobs") != 0 || app.count(t, "SELECT COUNT(*) FROM audit_log") != 0 {
		t.Errorf("a refused file wrote something: %d catalog rows before, %d after; %d jobs; %d audit rows", before, after,
			app.count(t, "SELECT COUNT(*) FROM import_jobs"), app.count(t, "SELECT COUNT(*) FROM audit_log"))
	}

	// A header with a column missing is one problem for the whole header.
	res, body = app.upload(t, staff, "catalog", "short.csv", "department,course_code,title\nCS,CS1,x\n")
	if res.StatusCode != http.StatusUnprocessableEntity || !slices.Equal(problemLines(t, body), []int{1, 1, 1, 1}) {
		t.Errorf("a header without credits, term, section and capacity: status %d, problem lines %v", res.StatusCode, problemLines(t, body))
	}
	// Students cannot reach the import.
	stu := app.client(t)
	app.login(t, stu, alice)
	if res, _ := app.upload(t, stu, "catalog", "fall.csv", file); res.StatusCode != http.StatusForbidden {
		t.Errorf("a student's upload: status %d, want 403", res.StatusCode)
	}
}

// TestImportCatalog5000Rows imports a generated file of 5,000 sections in one go: new
// courses, their sections and meetings, and an update of an existing section.
func TestImportCatalog5000Rows(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	var b strings.Builder
	b.WriteString(catalogHeader)
	// The existing CS101-01 gets a bigger room; the other 4,999 rows are new sections of
	// 1,000 new courses.
	b.WriteString("CS,CS101,Introduction to Programming,3,2027-1,01,35,Prof. Barbara Liskov,ENG-301,Thu 09:00-10:15\n")
	for i := range 4999 {
		course, section := i/5, i%5+1
		dept := []string{"CS", "MATH"}[course%2]
		fmt.Fprintf(&b, "%s,GEN%04d,\"Course %d, general\",%d,2027-1,%02d,%d,Instructor %d,R-%d,Mon %02d:00-%02d:50; Wed %02d:00-%02d:50\n",
			dept, course, course, 1+course%4, section, 20+i%30, i, i%50, 8+section, 8+section, 8+section, 8+section)
	}
	sectionsBefore := app.count(t, "SELECT COUNT(*) FROM sections")
	meetingsBefore := app.count(t, "SELECT COUNT(*) FROM section_meetings")

	start := time.Now()
	res, body := app.upload(t, staff, "catalog", "spring.csv", b.String())
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", res.StatusCode, body)
	}
	t.Logf("preview of %d bytes: %v", b.Len(), time.Since(start))
	if got, want := testid(t, body, "import-summary"), "5000 rows: 1000 new courses, 1 courses updated, 4999 new sections, 1 sections updated."; got != want {
		t.Errorf("preview says %q, want %q", got, want)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM sections"); n != sectionsBefore {
		t.Fatalf("the preview wrote sections: %d, had %d", n, sectionsBefore)
	}
	m := runAction.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no confirm button\n%s", body)
	}
	start = time.Now()
	if res, body := app.post(t, staff, m[0], nil, "HX-Request", "true"); res.StatusCode != http.StatusOK || testid(t, body, "import-progress") == "" {
		t.Fatalf("confirm: status %d\n%s", res.StatusCode, body)
	}
	var last string
	eventually(t, "the import to end", func() bool {
		_, last = app.get(t, staff, "/admin/import/"+m[1]+"/progress", "HX-Request", "true")
		state, _ := doc(t, last).Find(`[data-testid="import-progress"]`).Attr("data-state")
		return state == "done" || state == "failed"
	})
	t.Logf("import, seen done by polling: %v", time.Since(start))
	if got := testid(t, last, "import-rows"); got != "5000 of 5000 rows" {
		t.Errorf("progress at the end = %q\n%s", got, last)
	}
	if got := testid(t, last, "import-summary"); !strings.Contains(got, "4999 new sections") {
		t.Errorf("result = %q", got)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM sections"); n != sectionsBefore+4999 {
		t.Errorf("%d sections, want %d", n, sectionsBefore+4999)
	}
	// CS101-01 had one meeting and now has the file's one; the new sections two each.
	if n := app.count(t, "SELECT COUNT(*) FROM section_meetings"); n != meetingsBefore+2*4999 {
		t.Errorf("%d meetings, want %d", n, meetingsBefore+2*4999)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM section_meetings WHERE section_id = ? AND weekday = 4 AND start_minute = 540", f.Sections["CS101-01"]); n != 1 {
		t.Errorf("CS101-01 does not meet on Thursday at 9 as the file says")
	}
	if n := app.count(t, "SELECT capacity FROM sections WHERE id = ?", f.Sections["CS101-01"]); n != 35 {
		t.Errorf("CS101-01 capacity = %d, want 35", n)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM courses WHERE code = 'GEN0123' AND title = 'Course 123, general' AND credits = 4"); n != 1 {
		t.Error("GEN0123 was not imported with its quoted title and credits")
	}
	if n := app.count(t, "SELECT COUNT(*) FROM import_jobs WHERE LENGTH(content) > 0"); n != 0 {
		t.Errorf("%d finished imports still keep their file", n)
	}
	// One audit row for the import, by the staff member, with its counts.
	var actor, details string
	if err := app.DB.QueryRow("SELECT actor, details FROM audit_log WHERE action = 'import.catalog'").Scan(&actor, &details); err != nil {
		t.Fatalf("audit row of the import: %v", err)
	}
	if actor != "sam" || !strings.Contains(details, `"new_sections": 4999`) && !strings.Contains(details, `"new_sections":4999`) {
		t.Errorf("audit row: actor %q, details %s", actor, details)
	}
	// Confirming again does not import again.
	app.post(t, staff, m[0], nil, "HX-Request", "true")
	if n := app.count(t, "SELECT COUNT(*) FROM audit_log"); n != 1 {
		t.Errorf("%d audit rows after a second confirmation, want 1", n)
	}
}

// TestImportRechecksWhenItRuns: the data may change between the preview and the
// confirmation; the import checks again inside its transaction and writes nothing.
func TestImportRechecksWhenItRuns(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	res, body := app.upload(t, staff, "catalog", "small.csv", catalogHeader+
		"CS,CS101,Introduction to Programming,3,2027-1,01,3,,,\n"+
		"CS,CS999,Seminar,1,2027-1,01,10,,,\n")
	m := runAction.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("status %d\n%s", res.StatusCode, body)
	}
	// Five students take CS101-01 before the confirmation.
	if _, err := app.DB.Exec("UPDATE sections SET enrolled = 5 WHERE id = ?", f.Sections["CS101-01"]); err != nil {
		t.Fatal(err)
	}
	app.post(t, staff, m[0], nil)
	var last string
	eventually(t, "the import to end", func() bool {
		_, last = app.get(t, staff, "/admin/import/"+m[1])
		state, _ := doc(t, last).Find(`[data-testid="import-progress"]`).Attr("data-state")
		return state == "done" || state == "failed"
	})
	if state, _ := doc(t, last).Find(`[data-testid="import-progress"]`).Attr("data-state"); state != "failed" {
		t.Fatalf("state %q, want failed\n%s", state, last)
	}
	if got := testid(t, last, "import-problem"); !strings.Contains(got, "Line 2:") || !strings.Contains(got, "has 5 students registered") {
		t.Errorf("problems = %q\n%s", got, app.logs.String())
	}
	if n := app.count(t, "SELECT COUNT(*) FROM courses WHERE code = 'CS999'"); n != 0 {
		t.Error("the refused import created CS999")
	}
	if n := app.count(t, "SELECT COUNT(*) FROM audit_log"); n != 0 {
		t.Errorf("%d audit rows for an import that wrote nothing", n)
	}
}

// TestImportTranscripts records completed courses, which then count as prerequisites.
func TestImportTranscripts(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	bo := ldapUser("bo", "students")
	app.Dir.AddUsers(t, bo)
	stu := app.client(t)
	app.login(t, stu, alice) // students are known once they have signed in
	app.login(t, app.client(t), bo)
	staff := app.client(t)
	app.login(t, staff, sam)

	// CS201 needs CS101.
	res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["CS201-01"])}})
	if got := res.Header.Get("X-Registration-Result"); got != "prerequisite" {
		t.Fatalf("CS201 before the transcript: %q, want prerequisite", got)
	}
	// A bad file first: nothing is recorded.
	res, body := app.upload(t, staff, "transcripts", "grades.csv", "student,course_code,term,grade\nalice,CS101,2026-2,A\nnobody,CS101,2026-2,B\nbo,ZZZ9,2026-2,B\n")
	if res.StatusCode != http.StatusUnprocessableEntity || !slices.Equal(problemLines(t, body), []int{3, 4}) {
		t.Errorf("bad transcript: status %d, problem lines %v\n%s", res.StatusCode, problemLines(t, body), testid(t, body, "import-problem"))
	}
	if n := app.count(t, "SELECT COUNT(*) FROM completed_courses"); n != 0 {
		t.Fatalf("a refused transcript recorded %d courses", n)
	}

	last := app.importFile(t, staff, "transcripts", "grades.csv", "Student,Course_Code,Term,Grade\nALICE,cs101,2026-2,A\nbo,CS101,2026-2,B+\nbo,MATH101,2026-2,A\n")
	if got := testid(t, last, "import-summary"); got != "Imported: 3 completed courses for 2 students." {
		t.Errorf("result = %q\n%s", got, last)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM completed_courses"); n != 3 {
		t.Errorf("%d completed courses, want 3", n)
	}
	res, _ = app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["CS201-01"])}})
	if got := res.Header.Get("X-Registration-Result"); got != "enrolled" {
		t.Errorf("CS201 after the transcript: %q, want enrolled", got)
	}
	// Importing a course again updates its grade.
	app.importFile(t, staff, "transcripts", "fix.csv", "student,course_code,term,grade\nbo,CS101,2026-2,A0\n")
	if n := app.count(t, "SELECT COUNT(*) FROM completed_courses WHERE grade = 'A0'"); n != 1 {
		t.Error("the second import did not update bo's grade")
	}
	if n := app.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'import.transcripts'"); n != 2 {
		t.Errorf("%d audit rows for two transcript imports", n)
	}
}

// TestExportEnrollmentsCSV downloads a section's roster and a student's sections.
func TestExportEnrollmentsCSV(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	stu := app.client(t)
	app.login(t, stu, alice)
	for _, label := range []string{"CS101-01", "MATH150-01"} {
		res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections[label])}})
		if res.Header.Get("X-Registration-Result") != "enrolled" {
			t.Fatalf("register %s: %q", label, res.Header.Get("X-Registration-Result"))
		}
	}
	// A name that a spreadsheet would run as a formula, and one with a comma and quotes.
	if _, err := app.DB.Exec(`UPDATE users SET display_name = '=HYPERLINK("http://x.example","Kim, A")' WHERE username = 'alice'`); err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB.Exec(`UPDATE sections SET instructor = '@SUM(1+1)' WHERE id = ?`, f.Sections["MATH150-01"]); err != nil {
		t.Fatal(err)
	}
	staff := app.client(t)
	app.login(t, staff, sam)

	read := func(path, wantFile string) [][]string {
		t.Helper()
		res, body := app.get(t, staff, path)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%s: status %d, type %q", path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		if got := res.Header.Get("Content-Disposition"); got != `attachment; filename="`+wantFile+`"` {
			t.Errorf("%s: Content-Disposition %q, want file %s", path, got, wantFile)
		}
		// The byte-order mark makes Excel read UTF-8 (Korean names intact).
		body, ok := strings.CutPrefix(body, "\ufeff")
		if !ok {
			t.Errorf("%s: no UTF-8 byte-order mark", path)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatalf("%s is not CSV: %v\n%s", path, err, body)
		}
		return rows
	}
	rows := read("/admin/sections/"+itoa(f.Sections["CS101-01"])+"/enrollments.csv", "CS101-01_2027-1_enrollments.csv")
	if len(rows) != 2 || rows[0][0] != "username" || rows[1][0] != "alice" || rows[1][1] != alice.StudentNumber {
		t.Fatalf("section roster = %q", rows)
	}
	if got, want := rows[1][2], `'=HYPERLINK("http://x.example","Kim, A")`; got != want {
		t.Errorf("name cell = %q, want %q (defused)", got, want)
	}
	// Times are on the school's clock, with its offset.
	if at, err := time.Parse(time.RFC3339, rows[1][6]); err != nil || !strings.HasSuffix(rows[1][6], "+09:00") || time.Since(at) > time.Hour {
		t.Errorf("enrolled_at %q (%v), want now in +09:00", rows[1][6], err)
	}
	rows = read("/admin/students/alice/enrollments.csv", "alice_enrollments.csv")
	if len(rows) != 3 || rows[1][1] != "CS101" || rows[2][1] != "MATH150" || rows[2][5] != "'@SUM(1+1)" {
		t.Errorf("student's sections = %q", rows)
	}

	for path, want := range map[string]int{
		"/admin/sections/999999/enrollments.csv":  http.StatusNotFound,
		"/admin/students/nobody/enrollments.csv":  http.StatusNotFound,
		"/admin/sections/abc/enrollments.csv":     http.StatusNotFound,
		"/admin/students/alice/enrollments.csv?x": http.StatusOK,
	} {
		if res, _ := app.get(t, staff, path); res.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, res.StatusCode, want)
		}
	}
	if res, _ := app.get(t, stu, "/admin/students/alice/enrollments.csv"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a student's export: status %d, want 403", res.StatusCode)
	}
}
