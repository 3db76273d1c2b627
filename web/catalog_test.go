package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// rowCodes lists "CS101-01"-style keys of the catalog rows on a page.
func rowCodes(t testing.TB, body string) []string {
	t.Helper()
	var out []string
	doc(t, body).Find(`[data-testid="section-row"]`).Each(func(_ int, s *goquerySelection) {
		code := strings.TrimSpace(s.Find("td strong").First().Text())
		number := strings.TrimSpace(s.Find("td").Eq(1).Text())
		out = append(out, code+"-"+number)
	})
	return out
}

func TestCatalogFilters(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)

	cases := []struct {
		query string
		want  string
	}{
		{"", "CS101-01 CS101-02 CS201-01 MATH101-01 MATH101-02 MATH150-01"},
		{"?q=calculus", "MATH101-01 MATH101-02"},
		{"?q=cs2", "CS201-01"},
		{"?q=noether", "MATH101-01 MATH101-02"},
		{"?dept=CS", "CS101-01 CS101-02 CS201-01"},
		{"?dept=math&credits=2", "MATH150-01"},
		{"?credits=3", "CS101-01 CS101-02 CS201-01"},
		{"?open=1", "CS101-01 CS201-01 MATH101-02 MATH150-01"},
		{"?dept=CS&open=1", "CS101-01 CS201-01"},
		// LIKE wildcards typed by the user match themselves only.
		{"?q=_%25", "MATH150-01"},
		{"?q=%25", "MATH150-01"},
		{"?q=nothing-like-this", ""},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			res, body := app.get(t, c, "/courses"+tc.query)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d\n%s", res.StatusCode, body)
			}
			if got := strings.Join(rowCodes(t, body), " "); got != tc.want {
				t.Errorf("rows %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCatalogSeatsLeft(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	_, body := app.get(t, c, "/courses?q=CS101")
	d := doc(t, body)
	for key, want := range map[string]string{"CS101-01": "30 of 30 left", "CS101-02": "Full"} {
		sel := d.Find(`[data-section-id="` + itoa(f.Sections[key]) + `"] [data-testid="seats-left"]`)
		if got := strings.TrimSpace(sel.Text()); got != want {
			t.Errorf("%s seats: %q, want %q", key, got, want)
		}
	}
}

func TestCatalogFragmentForHTMX(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)

	_, full := app.get(t, c, "/courses?dept=CS")
	_, part := app.get(t, c, "/courses?dept=CS", "HX-Request", "true", "HX-Target", "results")
	_, restore := app.get(t, c, "/courses?dept=CS", "HX-Request", "true", "HX-History-Restore-Request", "true")
	if !strings.Contains(full, "<html") || !strings.Contains(restore, "<html") {
		t.Error("a plain or history-restore request did not get the full page")
	}
	if strings.Contains(part, "<html") || strings.Contains(part, `id="filters"`) {
		t.Error("an HTMX request got more than the results fragment")
	}
	if got := strings.Join(rowCodes(t, part), " "); got != "CS101-01 CS101-02 CS201-01" {
		t.Errorf("fragment rows %q", got)
	}
}

func TestCatalogBadInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	cases := []struct {
		query, message string
		status         int
	}{
		{"?credits=abc", "Credits must be a whole number from 1 to 6", http.StatusBadRequest},
		{"?credits=-3", "Credits must be a whole number from 1 to 6", http.StatusBadRequest},
		{"?dept=NOPE", "There is no department with that code", http.StatusBadRequest},
		{"?page=0", "That page number does not exist", http.StatusBadRequest},
		{"?page=999", "That page number does not exist", http.StatusOK},
		{"?q=" + strings.Repeat("x", 101), "The search text is too long", http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.query[:min(len(tc.query), 20)], func(t *testing.T) {
			res, body := app.get(t, c, "/courses"+tc.query)
			if res.StatusCode != tc.status {
				t.Errorf("status %d, want %d", res.StatusCode, tc.status)
			}
			if msg := testid(t, body, "alert"); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want %q", msg, tc.message)
			}
			// The bad value is dropped, the rest of the catalog still shows.
			if n := len(rowCodes(t, body)); n != 6 {
				t.Errorf("%d rows, want all 6", n)
			}
		})
	}
}

func TestCatalogPagination(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	// 60 more sections of CS101 make three pages of 25.
	var rows [][]any
	var courseID int64
	if err := app.DB.QueryRow("SELECT id FROM courses WHERE code = 'CS101'").Scan(&courseID); err != nil {
		t.Fatal(err)
	}
	for i := range 60 {
		rows = append(rows, []any{courseID, f.TermID, "P" + itoa(int64(10+i)), "Prof. Page", "R", 10})
	}
	bulk(t, app, "sections", []string{"course_id", "term_id", "number", "instructor", "room", "capacity"}, rows)
	c := app.client(t)
	app.login(t, c, alice)

	seen := map[string]bool{}
	for page := 1; page <= 3; page++ {
		_, body := app.get(t, c, "/courses?page="+itoa(int64(page)))
		if got := testid(t, body, "page-of"); got != "Page "+itoa(int64(page))+" of 3" {
			t.Errorf("page %d says %q", page, got)
		}
		for _, code := range rowCodes(t, body) {
			if seen[code] {
				t.Errorf("%s on two pages", code)
			}
			seen[code] = true
		}
	}
	if len(seen) != 66 {
		t.Errorf("%d distinct sections over 3 pages, want 66", len(seen))
	}
	// The next link keeps the filters.
	_, body := app.get(t, c, "/courses?dept=CS&open=1")
	next, _ := doc(t, body).Find(`nav.pager a`).Attr("href")
	if next != "/courses?dept=CS&open=1&page=2" {
		t.Errorf("next link %q", next)
	}
}

// TestCatalogShowsStaffChangesAtOnce: the catalog page lists sections from the copy in
// memory, yet a staff change made on one replica shows on another's very next page, and
// seats are live.
func TestCatalogShowsStaffChangesAtOnce(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	other := app.replica(t)
	staff := app.client(t)
	app.login(t, staff, sam)
	stu := other.client(t)
	other.login(t, stu, alice)
	instructor := func() string {
		t.Helper()
		_, body := other.get(t, stu, "/courses?q=CS201")
		return doc(t, body).Find(`[data-section-id="` + itoa(f.Sections["CS201-01"]) + `"]`).Text()
	}
	if got := instructor(); strings.Contains(got, "Prof. Hopper-Noether") {
		t.Fatalf("before the change the row already says %q", got)
	}
	res, body := app.post(t, staff, "/admin/sections/"+itoa(f.Sections["CS201-01"]),
		adminSectionForm("instructor", "Prof. Hopper-Noether", "capacity", "35"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit CS201-01: %d\n%s", res.StatusCode, body)
	}
	if got := instructor(); !strings.Contains(got, "Prof. Hopper-Noether") {
		t.Errorf("the other replica's next page shows %q, without the new instructor", got)
	}
	// Found by the new name too, with the new capacity read live.
	_, body = other.get(t, stu, "/courses?q=hopper-noether")
	if got := strings.Join(rowCodes(t, body), " "); got != "CS201-01" {
		t.Errorf("search by the new instructor: %q", got)
	}
	if got := strings.TrimSpace(doc(t, body).Find(`[data-testid="seats-left"]`).Text()); !strings.Contains(got, "of 35") {
		t.Errorf("seats after the capacity change: %q", got)
	}

	// The departments and the term come from the same copy: a renamed department shows
	// on the other replica's next page, and so does another current term.
	var cs int64
	if err := app.DB.QueryRow("SELECT id FROM departments WHERE code = 'CS'").Scan(&cs); err != nil {
		t.Fatal(err)
	}
	res, body = app.post(t, staff, "/admin/departments/"+itoa(cs), url.Values{"code": {"CS"}, "name": {"Computing Science"}, "name_ko": {"컴퓨팅학과"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename CS: %d\n%s", res.StatusCode, body)
	}
	_, body = other.get(t, stu, "/courses")
	if got := doc(t, body).Find(`option[value="CS"]`).Text(); got != "CS · Computing Science" {
		t.Errorf("the other replica's next page lists CS as %q", got)
	}
	if _, err := app.DB.Exec("UPDATE terms SET name = 'Fall 2099' WHERE is_current"); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	if _, body = other.get(t, stu, "/courses"); !strings.Contains(body, "Fall 2099") {
		t.Errorf("the other replica's next page does not name the renamed term:\n%s", body)
	}
}
