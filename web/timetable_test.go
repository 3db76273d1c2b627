package web_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/schoolservice/school/web/ldaptest"
)

// ttCell is where a meeting cell landed once rowspans and colspans are laid out.
type ttCell struct {
	Day     string // text of the day header above the cell
	Row     string // time label of the row the cell starts in
	RowSpan int
}

// timetableLayout lays out the timetable like a browser does and returns each meeting
// cell by data-section-id. It fails the test when a row does not fill the header's
// columns exactly: a broken rowspan table.
func timetableLayout(t *testing.T, body string) (days []string, cells map[string][]ttCell) {
	t.Helper()
	table := doc(t, body).Find(`table[data-testid="timetable"]`)
	if table.Length() != 1 {
		t.Fatalf("%d timetables on the page", table.Length())
	}
	var header []string
	table.Find("thead tr th").Each(func(_ int, th *goquerySelection) {
		n, _ := strconv.Atoi(th.AttrOr("colspan", "1"))
		for range n {
			header = append(header, strings.TrimSpace(th.Text()))
		}
	})
	cells = map[string][]ttCell{}
	taken := map[[2]int]bool{}
	table.Find("tbody tr").Each(func(r int, tr *goquerySelection) {
		label := strings.TrimSpace(tr.Find("th").First().Text())
		c := 0
		tr.Children().Each(func(_ int, cell *goquerySelection) {
			for taken[[2]int{r, c}] {
				c++
			}
			rs, _ := strconv.Atoi(cell.AttrOr("rowspan", "1"))
			cs, _ := strconv.Atoi(cell.AttrOr("colspan", "1"))
			for i := range rs {
				for j := range cs {
					taken[[2]int{r + i, c + j}] = true
				}
			}
			if id, ok := cell.Attr("data-section-id"); ok && c < len(header) {
				cells[id] = append(cells[id], ttCell{Day: header[c], Row: label, RowSpan: rs})
			}
			c += cs
		})
		for col := range len(header) + 1 {
			if taken[[2]int{r, col}] != (col < len(header)) {
				t.Fatalf("row %s: column %d of %d is wrongly filled", label, col, len(header))
			}
		}
	})
	return header[1:], cells
}

// timetableFixture: alice in CS101-01 (Mon 9:00–10:15) and CS201-01 (moved to Wed
// 13:00–14:30); bob, another student, in MATH150-01 (moved to Sat); alice also in a
// section of a past term.
type timetableFixture struct {
	catalogFixture
	aliceID, bobID, pastSection int64
}

func seedTimetable(t *testing.T, app *testApp) timetableFixture {
	t.Helper()
	f := timetableFixture{catalogFixture: seedCatalog(t, app.DB)}
	exec := func(q string, args ...any) int64 {
		t.Helper()
		res, err := app.DB.Exec(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		id, _ := res.LastInsertId()
		return id
	}
	if err := app.DB.QueryRow("SELECT id FROM users WHERE username = 'alice'").Scan(&f.aliceID); err != nil {
		t.Fatal(err)
	}
	f.bobID = exec("INSERT INTO users (username, display_name, role) VALUES ('bob', 'Bob Choi', 'student')")
	exec("UPDATE section_meetings SET weekday = 3, start_minute = 780, end_minute = 870 WHERE section_id = ?", f.Sections["CS201-01"])
	exec("UPDATE section_meetings SET weekday = 6 WHERE section_id = ?", f.Sections["MATH150-01"])
	var pastTerm, math150 int64
	if err := app.DB.QueryRow("SELECT id FROM terms WHERE code = '2026-2'").Scan(&pastTerm); err != nil {
		t.Fatal(err)
	}
	if err := app.DB.QueryRow("SELECT id FROM courses WHERE code = 'MATH150'").Scan(&math150); err != nil {
		t.Fatal(err)
	}
	f.pastSection = exec("INSERT INTO sections (course_id, term_id, number, capacity) VALUES (?, ?, '09', 10)", math150, pastTerm)
	exec("INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (?, 2, 540, 600)", f.pastSection)

	enroll := func(user int64, key string, section, term int64) {
		t.Helper()
		var course int64
		if err := app.DB.QueryRow("SELECT course_id FROM sections WHERE id = ?", section).Scan(&course); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, 'register')", user, section, course, term)
		exec("UPDATE sections SET enrolled = enrolled + 1 WHERE id = ?", section)
	}
	enroll(f.aliceID, "CS101-01", f.Sections["CS101-01"], f.TermID)
	enroll(f.aliceID, "CS201-01", f.Sections["CS201-01"], f.TermID)
	enroll(f.aliceID, "past", f.pastSection, pastTerm)
	enroll(f.bobID, "MATH150-01", f.Sections["MATH150-01"], f.TermID)
	return f
}

func TestTimetable(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	app.login(t, c, alice) // creates alice's users row
	f := seedTimetable(t, app)

	res, body := app.get(t, c, "/timetable")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d\n%s", res.StatusCode, body)
	}
	days, cells := timetableLayout(t, body)
	// bob's Saturday section must not bring a Saturday column to alice's week.
	if got := strings.Join(days, " "); got != "Mon Tue Wed Thu Fri" {
		t.Errorf("day columns %q", got)
	}
	want := map[string]ttCell{
		itoa(f.Sections["CS101-01"]): {Day: "Mon", Row: "09:00", RowSpan: 5},
		itoa(f.Sections["CS201-01"]): {Day: "Wed", Row: "13:00", RowSpan: 6},
	}
	for id, w := range want {
		if got := cells[id]; len(got) != 1 || got[0] != w {
			t.Errorf("section %s: cells %+v, want one at %+v", id, got, w)
		}
	}
	if len(cells) != len(want) {
		t.Errorf("meeting cells for sections %v, want only alice's two of this term", cells)
	}
	d := doc(t, body)
	if got := strings.Join(strings.Fields(d.Find(`[data-testid="meeting"]`).First().Text()), " "); got != "CS101 Section 01 ENG-101" {
		t.Errorf("meeting cell says %q", got)
	}
	for _, id := range []int64{f.Sections["MATH150-01"], f.pastSection} {
		if d.Find(`[data-section-id="`+itoa(id)+`"]`).Length() > 0 {
			t.Errorf("section %d, not alice's this term, is on her timetable", id)
		}
	}
	if n := d.Find(`[data-testid="timetable-section"]`).Length(); n != 2 {
		t.Errorf("%d sections listed, want 2", n)
	}
	if got := testid(t, body, "total-credits"); got != "Total credits: 6" {
		t.Errorf("total %q", got)
	}
	if d.Find(`nav a[href="/timetable"]`).Length() == 0 {
		t.Error("no timetable link in the navigation")
	}
	if d.Find(`[style], style`).Length() > 0 {
		t.Error("inline styles, which the CSP forbids")
	}

	_, body = app.get(t, c, "/timetable", "Accept-Language", "ko")
	days, cells = timetableLayout(t, body)
	if got := strings.Join(days, " "); got != "월 화 수 목 금" {
		t.Errorf("Korean day columns %q", got)
	}
	if got := cells[itoa(f.Sections["CS201-01"])]; len(got) != 1 || got[0].Day != "수" {
		t.Errorf("Korean: CS201-01 at %+v", got)
	}
	d = doc(t, body)
	if got := d.Find("html").AttrOr("lang", ""); got != "ko" {
		t.Errorf("html lang %q", got)
	}
	if got := d.Find("caption").Text(); got != "Spring 2027 주간 시간표" {
		t.Errorf("Korean caption %q", got)
	}
	if got := testid(t, body, "total-credits"); got != "총 학점: 6" {
		t.Errorf("Korean total %q", got)
	}
}

func TestTimetableEmpty(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	// alice is a student who has registered for nothing; sam is staff.
	for _, u := range []struct {
		user ldaptest.User
		lang string
		want string
	}{
		{alice, "en", "You have no registered courses yet."},
		{sam, "ko", "아직 신청한 과목이 없습니다."},
	} {
		t.Run(u.user.Username, func(t *testing.T) {
			c := app.client(t)
			app.login(t, c, u.user)
			res, body := app.get(t, c, "/timetable", "Accept-Language", u.lang)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := testid(t, body, "timetable-empty"); !strings.Contains(got, u.want) {
				t.Errorf("empty state %q, want %q", got, u.want)
			}
			d := doc(t, body)
			if d.Find(`[data-testid="timetable-empty"] a[href="/courses"]`).Length() != 1 {
				t.Error("the empty state has no link to the catalog")
			}
			if d.Find(`[data-testid="timetable"]`).Length() > 0 {
				t.Error("an empty timetable grid is shown")
			}
		})
	}
}

func TestTimetableNeedsLogin(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	res, _ := app.get(t, app.client(t), "/timetable")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("anonymous: status %d, Location %q; want 303 to /login", res.StatusCode, res.Header.Get("Location"))
	}
}
