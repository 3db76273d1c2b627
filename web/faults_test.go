package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFaultAnswers503: when MySQL cannot be reached, a page and an HTMX action answer 503
// with Retry-After and a message to wait; the HTMX answer goes to the notice area, so the
// part of the page the student clicked in stays as it was.
func TestFaultAnswers503(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	app.DB.Close() // every query from here on fails, as during a database restart

	res, body := app.get(t, c, "/courses")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("catalog with the database gone: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if !strings.Contains(testid(t, body, "alert"), "try again in a few seconds") {
		t.Errorf("the page does not say to wait: %q", testid(t, body, "alert"))
	}
	res, body = app.post(t, c, "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH101-02"])}}, hx, "true")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("HTMX registration with the database gone: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	if got := res.Header.Get("HX-Retarget"); got != "#flash" {
		t.Errorf("HTMX fault answer retargets to %q, want the notice area", got)
	}
	if strings.Contains(body, "<html") || testid(t, body, "alert") == "" {
		t.Errorf("HTMX fault answer is not a notice fragment:\n%s", body)
	}
	if strings.Contains(body, "database is closed") {
		t.Error("the error itself reached the page")
	}
}
