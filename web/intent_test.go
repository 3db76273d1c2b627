package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/web"
)

// TestQueuedIntentHTTP: the contract under the browser tests. While queued, every page
// carries the banner; a registration click from a page is kept, and admission leads back
// to that page at the section's row, where the click is offered once.
func TestQueuedIntentHTTP(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.QueuePoll = 100 * time.Millisecond })
	f := seedCatalog(t, app.DB)
	queueWindow(t, app, ", admit_per_second = 50, max_active = 10")
	c := app.client(t)
	app.login(t, c, alice)
	sec := itoa(f.Sections["MATH150-01"])
	eventually(t, "the queued banner", func() bool {
		_, body := app.get(t, c, "/courses")
		return testid(t, body, "queued-banner") != ""
	})
	for _, page := range []string{"/", "/timetable", "/registrations", "/notices"} {
		if _, body := app.get(t, c, page); testid(t, body, "queued-banner") == "" {
			t.Errorf("%s has no queued banner", page)
		}
	}
	res, _ := app.post(t, c, "/registrations", url.Values{"section_id": {sec}}, "HX-Request", "true",
		"HX-Current-URL", app.URL+"/courses?dept=MATH&page=1")
	if res.StatusCode != http.StatusForbidden || res.Header.Get("HX-Redirect") != "/queue" {
		t.Fatalf("register while queued: %d to %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	app.post(t, c, "/queue", nil)
	_, body := app.get(t, c, "/queue")
	if testid(t, body, "intent-kept") == "" {
		t.Error("the waiting page does not say it keeps the click")
	}
	var token string
	eventually(t, "admission", func() bool {
		_, body := app.get(t, c, "/queue")
		token = doc(t, body).Find(`[data-testid="queue-enter"] input[name="t"]`).AttrOr("value", "")
		return token != ""
	})
	res, _ = app.post(t, c, "/queue/enter", url.Values{"t": {token}})
	if want := "/courses?dept=MATH&page=1#section-" + sec; res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("enter: %d to %q, want %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	_, body = app.get(t, c, "/courses?dept=MATH&page=1")
	if got := testid(t, body, "intent-banner"); !strings.Contains(got, "Press Register again") || testid(t, body, "queued-banner") != "" {
		t.Errorf("after admission: intent banner %q, queued banner %q", got, testid(t, body, "queued-banner"))
	}
	if doc(t, body).Find(`#section-`+sec+` [data-testid="register"]`).Length() != 1 {
		t.Error("the section's row does not offer Register")
	}
	if _, body = app.get(t, c, "/courses"); testid(t, body, "intent-banner") != "" {
		t.Error("the click was offered twice")
	}
}
