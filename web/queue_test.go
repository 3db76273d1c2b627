package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/web"
)

// queueWindow turns the fixture's registration window into a queued one.
func queueWindow(t testing.TB, app *testApp, settings string) {
	t.Helper()
	if _, err := app.DB.Exec("UPDATE registration_windows SET queue_enabled = TRUE" + settings); err != nil {
		t.Fatal(err)
	}
}

// eventually polls f (bounded) until it returns true.
func eventually(t testing.TB, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWaitingRoomGatesRegistration(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.QueuePoll = 100 * time.Millisecond })
	f := seedCatalog(t, app.DB)
	queueWindow(t, app, ", admit_per_second = 50, max_active = 10")
	c := app.client(t)
	app.login(t, c, alice)
	sec := sectionForm(f.Sections["MATH150-01"])

	// Without a pass: refused, sent to the waiting room. (The probe names no real section,
	// so nothing is registered before the room knows the window.)
	eventually(t, "the queued window to reach the cache", func() bool {
		res, _ := app.post(t, c, "/registrations", sectionForm(987654321), hx, "true")
		return res.StatusCode == http.StatusForbidden && res.Header.Get("X-Registration-Result") == "queued" && res.Header.Get("HX-Redirect") == "/queue"
	})

	app.regPost(t, c, "/basket", sectionForm(f.Sections["MATH150-01"]))
	tickets := func() int {
		t.Helper()
		var n int
		if err := app.DB.QueryRow("SELECT COUNT(*) FROM waiting_room_tickets").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// Opening the waiting room takes no place: the page offers to, by POST, at once
	// where scripts run (hx-trigger load) and with its button where they do not.
	res, body := app.get(t, c, "/queue")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/queue: %d", res.StatusCode)
	}
	join := doc(t, body).Find(`form[data-testid="queue-join"]`)
	if m, _ := join.Attr("method"); m != "post" || join.AttrOr("action", "") != "/queue" || join.AttrOr("hx-post", "") != "/queue" ||
		join.AttrOr("hx-trigger", "") != "load" || join.Find(`button[type="submit"]`).Length() != 1 {
		t.Fatalf("the waiting room without a place should show the join form, has %q", testid(t, body, "queue"))
	}
	if testid(t, body, "queue-status") != "" || tickets() != 0 {
		t.Fatalf("GET /queue took a place (%d tickets)", tickets())
	}
	// HTMX's post: the place's status comes back in the form's stead.
	res, body = app.post(t, c, "/queue", nil, hx, "true")
	poll, ok := doc(t, body).Find(`[data-testid="queue-status"]`).Attr("hx-get")
	if res.StatusCode != http.StatusOK || !ok || !strings.HasPrefix(poll, "/queue/status?t=") || strings.Contains(body, "<html") {
		t.Fatalf("POST /queue from HTMX: %d, poll %q\n%s", res.StatusCode, poll, body)
	}
	if got := testid(t, body, "queue-basket"); !strings.Contains(got, "MATH150-01: 15 seats left") {
		t.Errorf("basket on the waiting page: %q", got)
	}
	// The plain form's post: back to the page, which shows the same place.
	res, _ = app.post(t, c, "/queue", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/queue" {
		t.Fatalf("POST /queue without HTMX: %d to %q, want 303 to /queue", res.StatusCode, res.Header.Get("Location"))
	}
	// Five tabs, one place: the same token every time, and one ticket.
	_, again := app.get(t, c, "/queue")
	if p2, _ := doc(t, again).Find(`[data-testid="queue-status"]`).Attr("hx-get"); p2 != poll {
		t.Errorf("a second tab got another place: %q vs %q", p2, poll)
	}
	if n := tickets(); n != 1 {
		t.Errorf("%d tickets after joining from two tabs, want 1", n)
	}

	// The poll needs no session: a client without cookies polls the same place. When
	// the place is admitted, the answer carries the form that enters.
	anon := app.client(t)
	var admitted string
	eventually(t, "admission", func() bool {
		res, body := app.get(t, anon, poll, hx, "true")
		if res.Header.Get("HX-Redirect") != "" {
			t.Fatalf("a poll answered HX-Redirect %q: entering is a POST", res.Header.Get("HX-Redirect"))
		}
		admitted = body
		return testid(t, body, "queue-admitted") != ""
	})
	// The basket travels in the poll URL, so the poll shows it without a session.
	if got := testid(t, admitted, "queue-basket"); !strings.Contains(got, "MATH150-01") {
		t.Errorf("basket in the poll's answer (%s): %q", poll, got)
	}
	enter := doc(t, admitted).Find(`form[data-testid="queue-enter"]`)
	token := enter.Find(`input[name="t"]`).AttrOr("value", "")
	if m, _ := enter.Attr("method"); m != "post" || enter.AttrOr("action", "") != "/queue/enter" || enter.AttrOr("hx-post", "") != "/queue/enter" ||
		enter.AttrOr("hx-trigger", "") != "load" || token == "" || enter.Find(`button[type="submit"]`).Length() != 1 {
		t.Fatalf("the admitted answer has no form that enters:\n%s", admitted)
	}
	form := url.Values{"t": {token}}

	// Entering by GET, the old way, changes nothing.
	if res, _ := app.get(t, c, "/queue/enter?t="+url.QueryEscape(token)); res.StatusCode != http.StatusMethodNotAllowed || len(res.Cookies()) != 0 {
		t.Errorf("GET /queue/enter: %d %v, want 405 and no pass", res.StatusCode, res.Cookies())
	}
	// Another student cannot use alice's place.
	bob := ldapUser("bob", "students")
	app.Dir.AddUsers(t, bob)
	cb := app.client(t)
	app.login(t, cb, bob)
	if res, _ := app.post(t, cb, "/queue/enter", form); res.StatusCode != http.StatusForbidden {
		t.Errorf("bob entering with alice's place: %d", res.StatusCode)
	}
	// HTMX's post gets the pass and a page load of registration; so does the button's.
	res, _ = app.post(t, c, "/queue/enter", form, hx, "true")
	if res.StatusCode != http.StatusOK || res.Header.Get("HX-Redirect") != "/courses" || !hasCookie(res, "school_pass") {
		t.Fatalf("enter from HTMX: %d, HX-Redirect %q, cookies %v", res.StatusCode, res.Header.Get("HX-Redirect"), res.Cookies())
	}
	res, _ = app.post(t, c, "/queue/enter", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/courses" || !hasCookie(res, "school_pass") {
		t.Fatalf("enter: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if status, result, _ := app.regPost(t, c, "/registrations", sec); status != http.StatusOK || result != "enrolled" {
		t.Errorf("with a pass: %d %q", status, result)
	}

	// Done: the slot goes back, and the pass no longer opens registration.
	_, page := app.get(t, c, "/registrations")
	if testid(t, page, "queue-done") == "" {
		t.Fatal("no way to give the slot back on the registrations page")
	}
	savedPass := c.Jar.Cookies(mustURL(t, app.URL))
	if res, _ := app.post(t, c, "/queue/done", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("done: %d", res.StatusCode)
	}
	var state string
	if err := app.DB.QueryRow("SELECT state FROM waiting_room_tickets WHERE user_id = (SELECT id FROM users WHERE username = 'alice')").Scan(&state); err != nil || state != "done" {
		t.Errorf("place after done: %q (%v)", state, err)
	}
	c.Jar.SetCookies(mustURL(t, app.URL), savedPass) // a kept copy of the pass
	eventually(t, "the finished pass to stop working", func() bool {
		res, _ := app.post(t, c, "/registrations", sectionForm(f.Sections["MATH101-02"]), hx, "true")
		return res.StatusCode == http.StatusForbidden
	})

	// Alice's pass in bob's browser is worth nothing.
	u, _ := url.Parse(app.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "school_pass" {
			cb.Jar.SetCookies(u, []*http.Cookie{ck})
		}
	}
	if res, _ := app.post(t, cb, "/registrations", sec, hx, "true"); res.StatusCode != http.StatusForbidden {
		t.Errorf("bob with alice's pass: %d", res.StatusCode)
	}

	if res, _ := app.get(t, anon, "/queue/status?t=t.1.2.3.forged", hx, "true"); res.StatusCode != http.StatusBadRequest {
		t.Errorf("forged token: %d", res.StatusCode)
	}
}

// A place that expired is not shown as a place: the page offers to join again, and the
// old page's poll says it was lost, with a button that posts to join.
func TestWaitingRoomRejoin(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.QueuePoll = 100 * time.Millisecond })
	seedCatalog(t, app.DB)
	queueWindow(t, app, ", paused = TRUE")
	c := app.client(t)
	app.login(t, c, alice)
	var poll string
	eventually(t, "the queued window to reach the cache", func() bool {
		res, body := app.post(t, c, "/queue", nil, hx, "true")
		poll, _ = doc(t, body).Find(`[data-testid="queue-status"]`).Attr("hx-get")
		return res.StatusCode == http.StatusOK && poll != ""
	})
	if _, err := app.DB.Exec("UPDATE waiting_room_tickets SET state = 'expired', changed_at = UTC_TIMESTAMP(6)"); err != nil {
		t.Fatal(err)
	}
	var lost string
	eventually(t, "the poll to see the place lost", func() bool {
		_, lost = app.get(t, c, poll, hx, "true")
		return testid(t, lost, "queue-lost") != ""
	})
	rejoin := doc(t, lost).Find(`form[data-testid="queue-rejoin"]`)
	if m, _ := rejoin.Attr("method"); m != "post" || rejoin.AttrOr("action", "") != "/queue" || rejoin.AttrOr("hx-trigger", "") != "" {
		t.Errorf("the lost place's answer should offer a button that posts to /queue:\n%s", lost)
	}
	_, body := app.get(t, c, "/queue")
	if testid(t, body, "queue-status") != "" || doc(t, body).Find(`form[data-testid="queue-join"]`).Length() != 1 {
		t.Errorf("/queue with an expired place should offer to join:\n%s", testid(t, body, "queue"))
	}
	if res, _ := app.post(t, c, "/queue", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("rejoin: %d", res.StatusCode)
	}
	var state string
	if err := app.DB.QueryRow("SELECT state FROM waiting_room_tickets").Scan(&state); err != nil || state != "waiting" {
		t.Errorf("place after rejoining: %q (%v)", state, err)
	}
	if _, body := app.get(t, c, "/queue"); testid(t, body, "queue-status") == "" {
		t.Errorf("/queue after rejoining shows no place:\n%s", testid(t, body, "queue"))
	}
}

func TestRequestLimit(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.RequestLimit = web.RequestLimit{Burst: 3, PerSecond: 0.001} })
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	for i := range 3 {
		if status, _, _ := app.regPost(t, c, "/registrations", sectionForm(f.Sections["MATH150-01"])); status != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, status)
		}
	}
	status, result, body := app.regPost(t, c, "/registrations", sectionForm(f.Sections["MATH150-01"]))
	if status != http.StatusTooManyRequests || result != "rate_limited" || !strings.Contains(testid(t, body, "alert"), "faster than anyone clicks") {
		t.Errorf("4th request: %d %q %q", status, result, testid(t, body, "alert"))
	}
	// Another student is not limited by alice's clicks.
	cs := app.client(t)
	bob := ldapUser("bob", "students")
	app.Dir.AddUsers(t, bob)
	app.login(t, cs, bob)
	if status, _, _ := app.regPost(t, cs, "/registrations", sectionForm(f.Sections["MATH150-01"])); status != http.StatusOK {
		t.Errorf("bob: %d", status)
	}
}

func TestWaitingRoomBannerAndNextWindowMetric(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	opens := time.Now().Add(48 * time.Hour).Truncate(time.Second).UTC()
	if _, err := app.DB.Exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'add_drop', ?, ?)",
		f.TermID, opens, opens.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	queueWindow(t, app, " WHERE phase = 'registration'")
	c := app.client(t)
	app.login(t, c, alice)
	eventually(t, "the banner", func() bool {
		_, body := app.get(t, c, "/")
		return testid(t, body, "queue-banner") != ""
	})
	_, body := app.ops(t, "/metrics")
	var got float64
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "school_registration_next_window_open_timestamp_seconds "); ok {
			got, _ = strconv.ParseFloat(v, 64)
		}
	}
	if int64(got) != opens.Unix() {
		t.Errorf("next window gauge %v, want %d", got, opens.Unix())
	}
}

func hasCookie(res *http.Response, name string) bool {
	for _, c := range res.Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
