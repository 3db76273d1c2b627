package web_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
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

// htmxIdle holds when no HTMX request is under way and what was swapped in is processed.
const htmxIdle = `document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null`

// TestBrowserImport: a staff member uploads a CSV file, sees its problems in place, then
// uploads the corrected file, confirms, and watches the import end, all without a reload.
func TestBrowserImport(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	seedCatalog(t, app.DB)
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.csv"), filepath.Join(dir, "good.csv")
	const header = "department,course_code,title,credits,term,section,capacity,meetings\n"
	if err := os.WriteFile(bad, []byte(header+"CS,CS401,Robotics,3,2027-1,01,20,Fri 10:00-11:00\nART,ART1,Drawing,2,2027-1,01,20,\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte(header+"CS,CS401,Robotics,3,2027-1,01,20,Fri 10:00-11:00\nCS,CS401,Robotics,3,2027-1,02,20,Fri 13:00-14:00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.signIn(app, sam)
	b.click("open the staff pages from the nav bar", `[data-testid="nav-admin"]`)
	b.click("open the import page from the staff index", `[data-testid="admin-index"] a[href="/admin/import"]`)
	b.waitFor("the import page", `location.pathname === "/admin/import" && document.querySelector('[data-testid="import-form"]') !== null`)
	b.mark()

	b.do("choose the bad file", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="import-file"]`), []string{bad}))
	b.click("check it", `[data-testid="import-check"]`)
	b.waitFor("the problem of line 3",
		`Array.from(document.querySelectorAll('[data-testid="import-problem"]')).map(li => li.dataset.line).join() === "3" && `+htmxIdle)
	b.noReload("the check of a bad file")

	b.do("choose the good file", chromedp.SetUploadFiles(chromedp.CSS(`[data-testid="import-file"]`), []string{good}))
	b.click("check it", `[data-testid="import-check"]`)
	b.waitFor("the confirm button, ready for HTMX", `document.querySelector('[data-testid="import-confirm"]') !== null && `+htmxIdle)
	b.click("confirm the import", `[data-testid="import-confirm"]`)
	b.waitFor("the import to end", `document.querySelector('[data-testid="import-progress"]')?.dataset.state === "done"`)
	b.noReload("the import")
	if n := app.count(t, "SELECT COUNT(*) FROM sections s JOIN courses c ON c.id = s.course_id WHERE c.code = 'CS401'"); n != 2 {
		t.Errorf("%d sections of CS401, want 2", n)
	}
	// The refused upload answered 422, which the browser logs as a failed request.
	b.checkConsole(httpStatus(app.URL+"/admin/import", 422))
}
