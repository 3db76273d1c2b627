package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserStaffRunsRegistration is registration day from the staff side: a staff
// member creates a course and a section, opens a registration window for it, and on
// the dashboard sees a student's registration appear. Until the window is open the
// student is refused.
func TestBrowserStaffRunsRegistration(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t, insecureCookies) // the student's Go client needs the cookie over http
	f := seedCatalog(t, app.DB)
	if _, err := app.DB.Exec("DELETE FROM registration_windows"); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	cs := itoa(int64(app.count(t, "SELECT id FROM departments WHERE code = 'CS'")))
	b := newBrowser(t)
	b.signIn(app, sam)

	b.open(app.URL + "/admin/courses")
	b.do("create CS350",
		chromedp.SetValue(chromedp.CSS(`#course-form select[name="department_id"]`), cs),
		chromedp.SendKeys(chromedp.CSS(`#course-form input[name="code"]`), "CS350"),
		chromedp.SendKeys(chromedp.CSS(`#course-form input[name="title"]`), "Operating Systems"),
		chromedp.SendKeys(chromedp.CSS(`#course-form input[name="credits"]`), "3"),
		chromedp.Click(chromedp.CSS(`#course-form [data-testid="save"]`)))
	b.waitFor("the course saved", `(document.querySelector('[data-testid="flash"]')?.textContent ?? "") === "Saved CS350."`)

	b.open(app.URL + "/admin/sections")
	b.do("create its section 01",
		chromedp.SendKeys(chromedp.CSS(`#new-section-form input[name="course"]`), "CS350"),
		chromedp.SendKeys(chromedp.CSS(`#new-section-form input[name="number"]`), "01"),
		chromedp.SetValue(chromedp.CSS(`#new-section-form input[name="capacity"]`), "25"),
		chromedp.SetValue(chromedp.CSS(`#new-section-form textarea[name="meetings"]`), "Thu 14:00-15:15"),
		chromedp.Click(chromedp.CSS(`#new-section-form [data-testid="save"]`)))
	b.waitFor("the section saved", `(document.querySelector('[data-testid="flash"]')?.textContent ?? "") === "Saved CS350-01."`)
	section := itoa(int64(app.count(t, "SELECT s.id FROM sections s JOIN courses c ON c.id = s.course_id WHERE c.code = 'CS350'")))

	stu := app.client(t)
	app.login(t, stu, alice)
	register := func() string {
		res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {section}})
		return res.Header.Get("X-Registration-Result")
	}
	if got := register(); got != "window_closed" {
		t.Fatalf("registration before any window: %q, want window_closed", got)
	}

	// datetime-local fields are on the school's clock (Asia/Seoul by default).
	local := func(d time.Duration) string { return time.Now().Add(d).In(seoul).Format("2006-01-02T15:04") }
	b.open(app.URL + "/admin/windows")
	b.do("open registration for every year, from a minute ago to tomorrow",
		chromedp.SetValue(chromedp.CSS(`#window-form select[name="term_id"]`), itoa(f.TermID)),
		chromedp.SetValue(chromedp.CSS(`#window-form select[name="phase"]`), "registration"),
		chromedp.SetValue(chromedp.CSS(`#window-form input[name="opens_at"]`), local(-time.Minute)),
		chromedp.SetValue(chromedp.CSS(`#window-form input[name="closes_at"]`), local(24*time.Hour)),
		chromedp.Click(chromedp.CSS(`#window-form [data-testid="save"]`)))
	b.waitFor("the window in the list", `document.querySelectorAll('[data-testid="window-row"]').length === 1`)

	b.click("open the dashboard from the nav bar", `nav a[href="/admin/dashboard"]`)
	// The window_closed answer above may already be counted (the figures are written
	// every 5 s): what must not be there yet is an enrollment.
	b.waitFor("the dashboard with no enrollment yet",
		`location.pathname === "/admin/dashboard" && document.querySelector('[data-testid="result-table"]') !== null && document.querySelector('[data-testid="result-enrolled"]') === null`)
	b.mark()
	if got := register(); got != "enrolled" {
		t.Fatalf("registration in the new window: %q, want enrolled", got)
	}
	if err := app.server.FlushDashboard(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.waitFor("the registration on the dashboard",
		`document.querySelector('[data-testid="result-enrolled"]')?.textContent.trim() === "1"`)
	b.noReload("the figures' polling")
	hot, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="hot-sections"]')?.textContent ?? ""`))
	if err != nil || !strings.Contains(hot, "CS350-01") || !strings.Contains(hot, "1 / 25") {
		t.Errorf("hot sections = %q (%v), want CS350-01 at 1 / 25", hot, err)
	}
	b.checkConsole()

	// Each staff step is in the audit log, by the staff member who took it.
	trail := strings.Join(auditTrail(t, app), "\n")
	for _, action := range []string{"sam course.create", "sam section.create", "sam window.create"} {
		if !strings.Contains(trail, action) {
			t.Errorf("audit log has no %q:\n%s", action, trail)
		}
	}
}
