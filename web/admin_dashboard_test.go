package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDashboardFiguresFromEveryReplica registers through two replicas of the app on one
// database: once both have flushed their counts, the dashboard of either replica shows
// every registration, and a later flush adds to the figures instead of replacing them.
func TestDashboardFiguresFromEveryReplica(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	other := app.replica(t)
	ctx := context.Background()

	stu := app.client(t)
	app.login(t, stu, alice) // the session is in MySQL: valid on both replicas
	register := func(a *testApp, label, want string) {
		t.Helper()
		res, body := a.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections[label])}})
		if got := res.Header.Get("X-Registration-Result"); got != want {
			t.Fatalf("register %s: %q (status %d), want %q\n%s", label, got, res.StatusCode, want, body)
		}
	}
	register(app, "CS101-01", "enrolled")
	register(app, "MATH101-01", "full")
	register(other, "MATH101-02", "enrolled")

	staff := app.client(t)
	app.login(t, staff, sam)
	for _, a := range []*testApp{app, other} {
		if err := a.server.FlushDashboard(ctx); err != nil {
			t.Fatal(err)
		}
	}
	figures := func(a *testApp) string {
		t.Helper()
		res, body := a.get(t, staff, "/admin/dashboard/figures", "HX-Request", "true")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("dashboard figures from %s: status %d\n%s", a.URL, res.StatusCode, body)
		}
		return body
	}
	for _, a := range []*testApp{app, other} {
		body := figures(a)
		if got := testid(t, body, "result-enrolled"); got != "2" {
			t.Errorf("replica %s: enrolled in the last 30 minutes = %q, want 2 (one through each replica)", a.URL, got)
		}
		if got := testid(t, body, "result-full"); got != "1" {
			t.Errorf("replica %s: full = %q, want 1", a.URL, got)
		}
		if got := testid(t, body, "tile-p95"); !strings.HasSuffix(got, " ms") {
			t.Errorf("replica %s: p95 = %q, want a time in ms", a.URL, got)
		}
		// The seed has two full sections out of six; the registrations filled none.
		if got := testid(t, body, "tile-full"); got != "2 / 6" {
			t.Errorf("replica %s: sections full = %q, want 2 / 6", a.URL, got)
		}
		var hot []string
		doc(t, body).Find(`[data-testid="hot-section"]`).Each(func(_ int, s *goquerySelection) {
			hot = append(hot, strings.Fields(s.Text())[0])
		})
		if !sameSet(hot, []string{"CS101-01", "MATH101-02"}) {
			t.Errorf("replica %s: hot sections = %v, want CS101-01 and MATH101-02", a.URL, hot)
		}
		if n := doc(t, body).Find(`[data-testid="chart"]`).Length(); n < 3 {
			t.Errorf("replica %s: %d charts, want the results, the hot sections and the latency", a.URL, n)
		}
	}

	// A later registration and flush add to the shared counts.
	register(other, "MATH150-01", "enrolled")
	if err := other.server.FlushDashboard(ctx); err != nil {
		t.Fatal(err)
	}
	if got := testid(t, figures(app), "result-enrolled"); got != "3" {
		t.Errorf("enrolled after a third registration = %q, want 3", got)
	}

	// The full page, for staff only.
	if res, body := app.get(t, staff, "/admin/dashboard"); res.StatusCode != http.StatusOK || testid(t, body, "dashboard-figures") == "" {
		t.Errorf("dashboard page for staff: status %d\n%s", res.StatusCode, body)
	}
	if res, _ := app.get(t, stu, "/admin/dashboard/figures"); res.StatusCode != http.StatusForbidden {
		t.Errorf("dashboard figures for a student: status %d, want 403", res.StatusCode)
	}
}

// TestDashboardFlushesAtClose: a replica that stops flushes what it counted.
func TestDashboardFlushesAtClose(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	other := app.replica(t)
	stu := app.client(t)
	app.login(t, stu, alice)
	res, _ := other.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["CS101-01"])}})
	if res.Header.Get("X-Registration-Result") != "enrolled" {
		t.Fatalf("register: %q", res.Header.Get("X-Registration-Result"))
	}
	other.server.Close()
	if n := app.count(t, "SELECT COALESCE(SUM(n), 0) FROM registration_minutes WHERE result = 'enrolled'"); n != 1 {
		t.Errorf("enrolled counted after the replica closed = %d, want 1", n)
	}
	if n := app.count(t, "SELECT COALESCE(SUM(n), 0) FROM registration_latency_minutes"); n != 1 {
		t.Errorf("request times counted after the replica closed = %d, want 1", n)
	}
}
