package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const hx = "HX-Request"

// regPost posts a registration form as HTMX does and returns status, result and body.
func (a *testApp) regPost(t testing.TB, c *http.Client, path string, form url.Values) (int, string, string) {
	t.Helper()
	res, body := a.post(t, c, path, form, hx, "true")
	return res.StatusCode, res.Header.Get("X-Registration-Result"), body
}

func sectionForm(id int64) url.Values { return url.Values{"section_id": {itoa(id)}} }

func TestRegisterAndDrop(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	sec := f.Sections["MATH101-02"] // 4 credits, open

	status, result, body := app.regPost(t, c, "/registrations", sectionForm(sec))
	if status != http.StatusOK || result != "enrolled" {
		t.Fatalf("register: %d %q\n%s", status, result, body)
	}
	if msg := testid(t, body, "row-result"); !strings.Contains(msg, "Registered for MATH101-02") {
		t.Errorf("row message %q", msg)
	}
	if got := testid(t, body, "standing"); got != "Registered" {
		t.Errorf("standing %q", got)
	}
	// The header's credit count is swapped in out of band.
	if d := doc(t, body).Find(`#credits[hx-swap-oob="true"]`); !strings.Contains(d.Text(), "4 / 18") {
		t.Errorf("credits badge %q", d.Text())
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ?", sec); n != 1 {
		t.Errorf("%d enrollments", n)
	}

	// The registrations page lists it; the header shows the credits on every page.
	_, page := app.get(t, c, "/registrations")
	if got := strings.Join(rowCodes(t, page), " "); got != "MATH101-02" {
		t.Errorf("registrations page rows %q", got)
	}
	if got := testid(t, page, "credits"); got != "4 / 18 credits" {
		t.Errorf("header credits %q", got)
	}

	status, result, body = app.regPost(t, c, "/registrations/"+itoa(sec)+"/drop", nil)
	if status != http.StatusOK || result != "dropped" || !strings.Contains(testid(t, body, "row-result"), "Dropped MATH101-02") {
		t.Fatalf("drop: %d %q %q", status, result, testid(t, body, "row-result"))
	}
	status, result, body = app.regPost(t, c, "/registrations/"+itoa(sec)+"/drop", nil)
	if status != http.StatusNotFound || result != "not_found" || !strings.Contains(testid(t, body, "row-result"), "not registered in MATH101-02") {
		t.Errorf("second drop: %d %q %q", status, result, testid(t, body, "row-result"))
	}
	if n := app.count(t, "SELECT enrolled FROM sections WHERE id = ?", sec); n != 0 {
		t.Errorf("enrolled %d after drop", n)
	}
}

func TestRegistrationRefusals(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	if status, result, _ := app.regPost(t, c, "/registrations", sectionForm(f.Sections["CS101-01"])); result != "enrolled" {
		t.Fatalf("setup: %d %s", status, result)
	}
	cases := []struct {
		name, path string
		form       url.Values
		status     int
		result     string
		message    string
	}{
		{"full", "/registrations", sectionForm(f.Sections["MATH101-01"]), 409, "full", "MATH101-01 is full. Join the waitlist"},
		{"another section of the course", "/registrations", sectionForm(f.Sections["CS101-02"]), 409, "duplicate", "already have CS101-01"},
		{"prerequisite", "/registrations", sectionForm(f.Sections["CS201-01"]), 409, "prerequisite", "CS201-01 needs CS101 first"},
		{"unknown section", "/registrations", sectionForm(987654321), 404, "not_found", "That section does not exist"},
		{"missing section", "/registrations", url.Values{}, 400, "invalid", "Choose a section"},
		{"not a number", "/registrations", url.Values{"section_id": {"abc"}}, 400, "invalid", "Choose a section"},
		{"negative", "/registrations", url.Values{"section_id": {"-3"}}, 400, "invalid", "Choose a section"},
		{"zero", "/waitlist", url.Values{"section_id": {"0"}}, 400, "invalid", "Choose a section"},
		{"drop not a number", "/registrations/x1/drop", nil, 400, "invalid", "Choose a section"},
		{"overlong key", "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH150-01"])}, "request_key": {strings.Repeat("k", 65)}}, 400, "invalid", "Choose a section"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, result, body := app.regPost(t, c, tc.path, tc.form)
			if status != tc.status || result != tc.result {
				t.Errorf("status %d result %q, want %d %q", status, result, tc.status, tc.result)
			}
			msg := testid(t, body, "row-result") + testid(t, body, "alert")
			if !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want %q", msg, tc.message)
			}
		})
	}
}

func TestWaitlistOverHTTP(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	full := f.Sections["MATH101-01"]
	status, result, body := app.regPost(t, c, "/waitlist", sectionForm(full))
	if status != http.StatusOK || result != "waitlisted" || !strings.Contains(testid(t, body, "row-result"), "number 1 on the waitlist") {
		t.Fatalf("join: %d %q %q", status, result, testid(t, body, "row-result"))
	}
	if got := testid(t, body, "standing"); got != "Waitlist #1" {
		t.Errorf("standing %q", got)
	}
	_, page := app.get(t, c, "/registrations")
	if doc(t, page).Find(`[data-testid="waitlisted-table"] [data-testid="section-row"]`).Length() != 1 {
		t.Error("the waitlist is not on the registrations page")
	}
	status, result, _ = app.regPost(t, c, "/waitlist/"+itoa(full)+"/leave", nil)
	if status != http.StatusOK || result != "left_waitlist" {
		t.Errorf("leave: %d %q", status, result)
	}
}

// Another student's registration is not reachable: dropping it is "not registered".
func TestCannotTouchAnotherStudentsRegistration(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	bob := ldapUser("bob", "students")
	app.Dir.AddUsers(t, bob)
	cb, ca := app.client(t), app.client(t)
	app.login(t, cb, bob)
	app.login(t, ca, alice)
	sec := f.Sections["MATH150-01"]
	if _, result, _ := app.regPost(t, cb, "/registrations", sectionForm(sec)); result != "enrolled" {
		t.Fatalf("bob: %s", result)
	}
	status, result, _ := app.regPost(t, ca, "/registrations/"+itoa(sec)+"/drop", nil)
	if status != http.StatusNotFound || result != "not_found" {
		t.Errorf("alice dropping bob's section: %d %q", status, result)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ?", sec); n != 1 {
		t.Errorf("bob's enrollment is gone")
	}
}

func TestRegistrationNeedsAStudent(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	sec := sectionForm(f.Sections["MATH150-01"])

	res, _ := app.post(t, app.client(t), "/registrations", sec)
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: %d, want 401", res.StatusCode)
	}
	staff := app.client(t)
	app.login(t, staff, sam)
	if status, _, body := app.regPost(t, staff, "/registrations", sec); status != http.StatusForbidden || !strings.Contains(testid(t, body, "alert"), "Only students") {
		t.Errorf("staff: %d %q", status, testid(t, body, "alert"))
	}
	c := app.client(t)
	app.login(t, c, alice)
	res, _ = app.post(t, c, "/registrations", sec, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin registration: %d, want 403", res.StatusCode)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments"); n != 0 {
		t.Errorf("%d enrollments after refused requests", n)
	}
}

func TestRegistrationWindowClosed(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	if _, err := app.DB.Exec("DELETE FROM registration_windows"); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	status, result, body := app.regPost(t, c, "/registrations", sectionForm(f.Sections["MATH150-01"]))
	if status != http.StatusConflict || result != "window_closed" || !strings.Contains(testid(t, body, "row-result"), "not open for you") {
		t.Errorf("%d %q %q", status, result, testid(t, body, "row-result"))
	}
}

// The same request key twice: one action, the first answer again.
func TestRegistrationRequestKey(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	sec := f.Sections["MATH150-01"]
	app.regPost(t, c, "/registrations", sectionForm(sec))
	drop := url.Values{"request_key": {"drop-key-1"}}
	for i := range 2 {
		if status, result, _ := app.regPost(t, c, "/registrations/"+itoa(sec)+"/drop", drop); status != 200 || result != "dropped" {
			t.Errorf("drop %d: %d %q", i+1, status, result)
		}
	}
}

// Without JavaScript the same form gets a whole page.
func TestRegistrationWithoutHTMX(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	res, body := app.post(t, c, "/registrations", sectionForm(f.Sections["MATH150-01"]))
	if res.StatusCode != 200 || !strings.Contains(body, "<html") || !strings.Contains(testid(t, body, "alert"), "Registered for MATH150-01") {
		t.Errorf("%d %q", res.StatusCode, testid(t, body, "alert"))
	}
}

func TestCatalogButtonsFollowStanding(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	app.regPost(t, c, "/registrations", sectionForm(f.Sections["CS101-01"]))
	app.regPost(t, c, "/waitlist", sectionForm(f.Sections["MATH101-01"]))
	_, body := app.get(t, c, "/courses")
	d := doc(t, body)
	want := map[string]string{"CS101-01": "drop", "CS101-02": "waitlist", "MATH101-01": "leave", "MATH150-01": "register"}
	for key, button := range want {
		row := d.Find(`[data-section-id="` + itoa(f.Sections[key]) + `"]`)
		if row.Find(`[data-testid="`+button+`"]`).Length() != 1 {
			t.Errorf("%s has no %s button", key, button)
		}
		if k, _ := row.Find(`input[name="request_key"]`).Attr("value"); len(k) < 16 {
			t.Errorf("%s: request key %q", key, k)
		}
	}
	// Staff see the catalog without buttons.
	s := app.client(t)
	app.login(t, s, sam)
	_, body = app.get(t, s, "/courses")
	if doc(t, body).Find(`form[action="/registrations"]`).Length() != 0 {
		t.Error("staff get registration buttons")
	}
}

// A staff change made on one replica reaches another replica's registration rules at
// that replica's next request: a request reads the catalog version in its first
// statement and checks its rules against a catalog at least that new, so the bound is
// the request itself, with no poll to wait for.
func TestStaffChangeReachesTheRules(t *testing.T) {
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	other := app.replica(t)
	staff := app.client(t)
	app.login(t, staff, sam)
	stu := other.client(t)
	other.login(t, stu, alice)
	register := func(what, section string, want string) string {
		t.Helper()
		status, result, body := other.regPost(t, stu, "/registrations", sectionForm(f.Sections[section]))
		if result != want {
			t.Fatalf("%s: %d %q, want %q\n%s", what, status, result, want, body)
		}
		return body
	}
	// The other replica has its catalog, loaded before the changes.
	register("CS101-01", "CS101-01", "enrolled")

	// Staff move MATH150-01 onto CS101-01's time.
	var day, start, end int
	if err := app.DB.QueryRow("SELECT weekday, start_minute, end_minute FROM section_meetings WHERE section_id = ?",
		f.Sections["CS101-01"]).Scan(&day, &start, &end); err != nil {
		t.Fatal(err)
	}
	clash := fmt.Sprintf("%s %02d:%02d-%02d:%02d", []string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}[day], start/60, start%60, end/60, end%60)
	res, body := app.post(t, staff, "/admin/sections/"+itoa(f.Sections["MATH150-01"]), adminSectionForm("capacity", "20", "meetings", clash))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("move MATH150-01: %d\n%s", res.StatusCode, body)
	}
	body = register("MATH150-01 at CS101-01's time", "MATH150-01", "time_conflict")
	if !strings.Contains(testid(t, body, "row-result"), "CS101-01") {
		t.Errorf("time conflict message %q", testid(t, body, "row-result"))
	}

	// Staff close the registration window, then open it again.
	window := itoa(int64(app.count(t, "SELECT id FROM registration_windows")))
	setWindow := func(opens, closes time.Duration) {
		t.Helper()
		now := time.Now()
		res, body := app.post(t, staff, "/admin/windows/"+window, url.Values{"class_year": {""}, "phase": {"registration"},
			"opens_at": {now.Add(opens).In(seoul).Format("2006-01-02T15:04")}, "closes_at": {now.Add(closes).In(seoul).Format("2006-01-02T15:04")}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("window: %d\n%s", res.StatusCode, body)
		}
	}
	setWindow(-2*time.Hour, -time.Hour)
	register("MATH101-02 with the window closed", "MATH101-02", "window_closed")
	setWindow(-time.Hour, time.Hour)
	register("MATH101-02 with the window open again", "MATH101-02", "enrolled")
}
