package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminForms: a staff member reaches the admin pages from the header, gets a
// wrong course field marked in place, saves a course and a section (each save lands on
// the next page with what was saved), registers a student on the section page without
// leaving it, and sees a capacity below the roster refused under the field.
func TestBrowserAdminForms(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	seedCatalog(t, app.DB)
	students(t, app, "s1")
	cs := itoa(int64(app.count(t, "SELECT id FROM departments WHERE code = 'CS'")))
	b := newBrowser(t)
	b.signIn(app, sam)

	b.click("open Admin from the header", `[data-testid="nav-admin"]`)
	b.waitFor("the admin index", `location.pathname === "/admin" && document.querySelector('[data-testid="admin-index"]') !== null`)

	b.open(app.URL + "/admin/courses")
	b.mark()
	b.do("fill in a course with too many credits",
		chromedp.SetValue(chromedp.CSS(`#course-form select[name="department_id"]`), cs),
		chromedp.SendKeys(chromedp.CSS(`#course-form input[name="code"]`), "CS301"),
		chromedp.SendKeys(chromedp.CSS(`#course-form input[name="title"]`), "Compilers"),
		chromedp.SendKeys(chromedp.CSS(`#course-form input[name="credits"]`), "20"),
		chromedp.SendKeys(chromedp.CSS(`#course-form input[name="prerequisites"]`), "CS201"),
		chromedp.Click(chromedp.CSS(`#course-form [data-testid="save"]`)))
	b.waitFor("the credits error under its field",
		`(document.querySelector('#course-form [data-testid="error-credits"]')?.textContent ?? "").includes("from 0 to 12")`)
	// The app moves focus to the answer once HTMX has settled the swap (app.js), which can
	// scroll the page: a click aimed before that lands where the button was.
	b.waitFor("focus on the answer", `document.activeElement?.matches('[role="alert"], .field-error') ?? false`)
	b.noReload("the refused course")
	if code, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`#course-form input[name="code"]`))); err != nil || code != "CS301" {
		t.Errorf("the code typed is gone after the refusal: %q, %v", code, err)
	}
	b.do("correct the credits and save",
		chromedp.SetValue(chromedp.CSS(`#course-form input[name="credits"]`), "3"),
		chromedp.Click(chromedp.CSS(`#course-form [data-testid="save"]`)))
	b.waitFor("the course list saying it saved CS301",
		`(document.querySelector('[data-testid="flash"]')?.textContent ?? "") === "Saved CS301."`)

	b.open(app.URL + "/admin/sections")
	b.do("fill in a section of one seat and save",
		chromedp.SendKeys(chromedp.CSS(`#new-section-form input[name="course"]`), "CS301"),
		chromedp.SendKeys(chromedp.CSS(`#new-section-form input[name="number"]`), "01"),
		chromedp.SetValue(chromedp.CSS(`#new-section-form input[name="capacity"]`), "1"),
		chromedp.SetValue(chromedp.CSS(`#new-section-form textarea[name="meetings"]`), "Wed 10:00-11:15"),
		chromedp.Click(chromedp.CSS(`#new-section-form [data-testid="save"]`)))
	b.waitFor("the new section's page",
		`location.pathname.startsWith("/admin/sections/") && (document.querySelector('[data-testid="flash"]')?.textContent ?? "") === "Saved CS301-01."`)
	b.open(strings.TrimSuffix(b.state().URL, "#"))
	b.mark()
	b.do("register s1 with a reason",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="enroll-form"] input[name="username"]`), "s1"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="enroll-form"] input[name="reason"]`), "transfer student"),
		chromedp.Click(chromedp.CSS(`[data-testid="enroll"]`)))
	b.waitFor("s1 on the roster", `document.querySelector('[data-testid="roster-row"][data-username="s1"]') !== null`)
	b.noReload("the staff registration")
	if got, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`[data-testid="admin-result"]`))); err != nil || got != "Registered s1 for CS301-01, without the prerequisites." {
		t.Errorf("result = %q, %v", got, err)
	}
	b.do("open the settings and lower the capacity to 0",
		chromedp.Click(chromedp.CSS(`main details > summary`)),
		chromedp.SetValue(chromedp.CSS(`#section-form input[name="capacity"]`), "0"),
		chromedp.Click(chromedp.CSS(`#section-form [data-testid="save"]`)))
	b.waitFor("the capacity refusal under its field",
		`(document.querySelector('#section-form [data-testid="error-capacity"]')?.textContent ?? "").includes("cannot be below the 1 students registered")`)
	b.noReload("the refused capacity")
	b.screenshot("admin-section.png")

	b.open(app.URL + "/admin/audit")
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('[data-testid="audit-action"]'), e => e.textContent.trim())`))
	if err != nil || strings.Join(rows, " ") != "section.enroll section.create course.create" {
		t.Errorf("audit log = %v, %v", rows, err)
	}
	b.screenshot("admin-audit.png")
	b.checkConsole(
		httpStatus(app.URL+"/admin/courses", 400),
		func(m chromedp.ConsoleMessage) bool {
			return m.Source == "network" && strings.HasPrefix(m.URL, app.URL+"/admin/sections/") && strings.Contains(m.Text, "status of 409 ")
		})
}
