package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/schoolservice/school/web/ldaptest"
)

// createNotice writes a notice through the staff form and returns its admin path.
func (a *testApp) createNotice(t testing.TB, staff *http.Client, title, body string) string {
	t.Helper()
	res, page := a.post(t, staff, "/admin/notices", url.Values{"title": {title}, "body": {body}})
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/notices/") {
		t.Fatalf("create notice %q: %d %q\n%s", title, res.StatusCode, loc, page)
	}
	return strings.TrimSuffix(loc, "?saved=1")
}

// noticeTitles lists the notices a page shows, in order.
func noticeTitles(t testing.TB, body string) []string {
	t.Helper()
	var titles []string
	doc(t, body).Find(`[data-testid="notice"] a`).Each(func(_ int, s *goquerySelection) {
		titles = append(titles, strings.TrimSpace(s.Text()))
	})
	return titles
}

// Only staff write notices: anonymous visitors are sent to sign in, students refused.
func TestNoticesAdminAccess(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	staff := app.client(t)
	app.login(t, staff, sam)
	existing := app.createNotice(t, staff, "Existing", "Text.")
	gets := []string{"/admin/notices", "/admin/notices/new", existing}
	posts := []string{"/admin/notices", existing, existing + "/publish", existing + "/pin"}
	form := url.Values{"title": {"Changed"}, "body": {"Changed."}}

	anon := app.client(t)
	for _, path := range gets {
		res, _ := app.get(t, anon, path)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("anonymous GET %s: %d %q, want 303 to sign in", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	for _, path := range posts {
		if res, _ := app.post(t, anon, path, form); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous POST %s: %d, want 401", path, res.StatusCode)
		}
	}
	for _, c := range []struct {
		user ldaptest.User
		get  int
		post int
	}{{alice, 403, 403}, {sam, 200, 303}, {ada, 200, 303}} {
		cl := app.client(t)
		app.login(t, cl, c.user)
		for _, path := range gets {
			if res, _ := app.get(t, cl, path); res.StatusCode != c.get {
				t.Errorf("%s GET %s: %d, want %d", c.user.Username, path, res.StatusCode, c.get)
			}
		}
		for _, path := range posts[:2] {
			if res, _ := app.post(t, cl, path, form); res.StatusCode != c.post {
				t.Errorf("%s POST %s: %d, want %d", c.user.Username, path, res.StatusCode, c.post)
			}
		}
		for _, path := range posts[2:] {
			want := map[int]int{403: 403, 303: 200}[c.post]
			if res, _ := app.post(t, cl, path, nil); res.StatusCode != want {
				t.Errorf("%s POST %s: %d, want %d", c.user.Username, path, res.StatusCode, want)
			}
		}
	}
	// Only sam's and ada's notices were written.
	if n := app.count(t, "SELECT COUNT(*) FROM notices"); n != 3 {
		t.Errorf("%d notices, want 3 (one before, one each by sam and ada)", n)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM audit_log WHERE actor = 'alice'"); n != 0 {
		t.Errorf("%d audit rows by alice", n)
	}
}

func TestNoticeLifecycle(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	staff, student := app.client(t), app.client(t)
	app.login(t, staff, sam)
	app.login(t, student, alice)

	// Refused forms say why and keep what was typed.
	for _, f := range []url.Values{{"title": {""}, "body": {"x"}}, {"title": {"x"}, "body": {"  "}}, {"title": {strings.Repeat("t", 201)}, "body": {"x"}}} {
		res, body := app.post(t, staff, "/admin/notices", f)
		if res.StatusCode != http.StatusBadRequest || testid(t, body, "admin-result") == "" {
			t.Errorf("%v: %d %q", f, res.StatusCode, testid(t, body, "admin-result"))
		}
	}

	evil := "Read this.\n\n<script>alert(1)</script>\n\nAnd [click me](javascript:alert(2)) or <img src=x onerror=alert(3)>."
	older := app.createNotice(t, staff, "Exam timetable", evil)
	newer := app.createNotice(t, staff, "Library hours", "Open until **midnight**.")
	olderID := strings.TrimPrefix(older, "/admin/notices/")
	newerID := strings.TrimPrefix(newer, "/admin/notices/")

	// Unpublished: not listed, not on the home page, 404 even by its address.
	_, body := app.get(t, student, "/notices")
	if titles := noticeTitles(t, body); len(titles) != 0 {
		t.Errorf("unpublished notices listed: %v", titles)
	}
	if res, _ := app.get(t, student, "/notices/"+olderID); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unpublished notice: %d, want 404", res.StatusCode)
	}

	// Staff see the script as text in the preview too.
	_, body = app.get(t, staff, older)
	if n := doc(t, body).Find(`[data-testid="notice-preview"] script, [data-testid="notice-preview"] img`).Length(); n != 0 {
		t.Errorf("the staff preview has %d script or img elements", n)
	}

	for _, step := range []string{older + "/publish", newer + "/publish"} {
		if res, body := app.post(t, staff, step, nil); res.StatusCode != 200 || testid(t, body, "admin-result") == "" {
			t.Fatalf("%s: %d %q", step, res.StatusCode, testid(t, body, "admin-result"))
		}
	}
	_, body = app.get(t, student, "/notices")
	if titles := noticeTitles(t, body); !slices.Equal(titles, []string{"Library hours", "Exam timetable"}) {
		t.Errorf("published notices %v, want the newest first", titles)
	}

	// The notice with a script: rendered as text, no active element, no javascript: link.
	res, body := app.get(t, student, "/notices/"+olderID)
	if res.StatusCode != 200 {
		t.Fatalf("a published notice: %d", res.StatusCode)
	}
	d := doc(t, body)
	content := d.Find(`[data-testid="notice-body"]`)
	if n := content.Find("script, img, [onerror]").Length(); n != 0 {
		t.Errorf("the notice has %d active elements:\n%s", n, body)
	}
	if text := content.Text(); !strings.Contains(text, "<script>alert(1)</script>") || !strings.Contains(text, "click me") {
		t.Errorf("the notice text lacks the script as text or the link text: %q", text)
	}
	content.Find("a").Each(func(_ int, a *goquerySelection) {
		if href, _ := a.Attr("href"); strings.Contains(strings.ToLower(href), "javascript") {
			t.Errorf("a link to %q survived", href)
		}
	})
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img") {
		t.Error("the page source carries the script")
	}
	_, body = app.get(t, student, "/notices/"+newerID)
	if got := doc(t, body).Find(`[data-testid="notice-body"] strong`).Text(); got != "midnight" {
		t.Errorf("Markdown bold rendered as %q", got)
	}

	// Pinning puts the older first, on the list and on the home page.
	if res, _ := app.post(t, staff, older+"/pin", nil); res.StatusCode != 200 {
		t.Fatalf("pin: %d", res.StatusCode)
	}
	_, body = app.get(t, student, "/notices")
	if titles := noticeTitles(t, body); !slices.Equal(titles, []string{"Exam timetable", "Library hours"}) {
		t.Errorf("after pinning %v, want the pinned first", titles)
	}
	_, body = app.get(t, student, "/")
	if titles := noticeTitles(t, body); !slices.Equal(titles, []string{"Exam timetable", "Library hours"}) {
		t.Errorf("home page notices %v", titles)
	}

	// Editing keeps it published; unpublishing hides it again.
	res, _ = app.post(t, staff, newer, url.Values{"title": {"Library hours (exams)"}, "body": {"Open until 1 am."}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	_, body = app.get(t, student, "/notices/"+newerID)
	if !strings.Contains(body, "Library hours (exams)") || !strings.Contains(body, "1 am") {
		t.Error("the edit does not show")
	}
	app.post(t, staff, newer+"/unpublish", nil)
	if res, _ := app.get(t, student, "/notices/"+newerID); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unpublished notice: %d, want 404", res.StatusCode)
	}
	// Publishing what is published records nothing.
	app.post(t, staff, older+"/publish", nil)

	actions := column(t, app, "SELECT action FROM audit_log WHERE entity = 'notice' ORDER BY id")
	want := []string{"notice.create", "notice.create", "notice.publish", "notice.publish", "notice.pin", "notice.update", "notice.unpublish"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit log %v, want %v", actions, want)
	}
	if res, _ := app.get(t, student, "/notices/abc"); res.StatusCode != http.StatusNotFound {
		t.Errorf("/notices/abc: %d", res.StatusCode)
	}
}
