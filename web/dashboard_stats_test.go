package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/schoolservice/school/web"
)

// TestDashboardCountsEachResult: every answer on the registration routes is counted under
// its result, whether the handler gave it or the gate turned the request away; a request
// turned away is counted but not timed.
func TestDashboardCountsEachResult(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.RequestLimit = web.RequestLimit{Burst: 3, PerSecond: 0.001} })
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	answers := []struct {
		form   url.Values
		status int
		result string
	}{
		{sectionForm(f.Sections["CS101-01"]), http.StatusOK, "enrolled"},
		{sectionForm(f.Sections["MATH101-01"]), http.StatusConflict, "full"},
		{url.Values{"section_id": {"nine"}}, http.StatusBadRequest, "invalid"},
		{sectionForm(f.Sections["MATH150-01"]), http.StatusTooManyRequests, "rate_limited"},
	}
	for _, a := range answers {
		if status, result, body := app.regPost(t, c, "/registrations", a.form); status != a.status || result != a.result {
			t.Fatalf("POST /registrations %v: %d %q, want %d %q\n%s", a.form, status, result, a.status, a.result, body)
		}
	}
	if err := app.server.FlushDashboard(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, a := range answers {
		if n := app.count(t, "SELECT COALESCE(SUM(n), 0) FROM registration_minutes WHERE result = ?", a.result); n != 1 {
			t.Errorf("%s counted %d times, want 1", a.result, n)
		}
	}
	if n := app.count(t, "SELECT COALESCE(SUM(n), 0) FROM registration_minutes"); n != len(answers) {
		t.Errorf("%d answers counted, want %d", n, len(answers))
	}
	if n := app.count(t, "SELECT COALESCE(SUM(n), 0) FROM registration_latency_minutes"); n != len(answers)-1 {
		t.Errorf("%d request times counted, want %d (the request turned away is not timed)", n, len(answers)-1)
	}
}
