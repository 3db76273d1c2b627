package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDashboard: a staff member opens the registration-day dashboard from the
// nav bar and watches a student's registration appear as the figures poll, with no
// reload.
func TestBrowserDashboard(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t, insecureCookies) // the student's Go client needs the cookie over http
	f := seedCatalog(t, app.DB)
	b := newBrowser(t)
	b.signIn(app, sam)

	b.click("open the dashboard from the nav bar", `nav a[href="/admin/dashboard"]`)
	b.waitFor("the dashboard with no registrations yet",
		`location.pathname === "/admin/dashboard" && document.querySelector('[data-testid="no-results"]') !== null`)
	b.mark()

	stu := app.client(t)
	app.login(t, stu, alice)
	res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH150-01"])}})
	if got := res.Header.Get("X-Registration-Result"); got != "enrolled" {
		t.Fatalf("alice's registration: %q, want enrolled", got)
	}
	// The replica's counts reach the shared table at its next flush; the test does not
	// wait for the timer.
	if err := app.server.FlushDashboard(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the registration on the dashboard",
		`document.querySelector('[data-testid="result-enrolled"]')?.textContent.trim() === "1"`)
	b.noReload("the figures' polling")
	hot, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="hot-sections"]')?.textContent ?? ""`))
	if err != nil || !strings.Contains(hot, "MATH150-01") || !strings.Contains(hot, "6 / 20") {
		t.Errorf("hot sections = %q (%v), want MATH150-01 at 6 / 20", hot, err)
	}
	b.screenshot("dashboard.png")
	b.checkConsole()
}
