package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/web"
)

// queuedApp is an app whose registration window is queued and paused, with one student
// in line already, and the room's cache aware of it.
func queuedApp(t *testing.T) (*testApp, catalogFixture) {
	t.Helper()
	reg := prometheus.NewRegistry()
	app := newTestApp(t, func(o *web.Options) {
		o.QueuePoll = 300 * time.Millisecond
		o.Registry = reg
	})
	f := seedCatalog(t, app.DB)
	queueOthers(t, app, 1)
	queueWindow(t, app, ", admit_per_second = 2, max_active = 1000, grace_seconds = 3600, paused = TRUE")
	eventually(t, "the room to see the queued window", func() bool { return gauge(t, reg, "school_waiting_room_waiting") == 1 })
	// And the gate to turn registrations away (the probe names no real section, and no
	// page, so nothing is registered or kept).
	c := app.client(t)
	app.login(t, c, alice)
	eventually(t, "the gate to queue registrations", func() bool {
		res, _ := app.post(t, c, "/registrations", sectionForm(987654321), "HX-Request", "true")
		return res.StatusCode == http.StatusForbidden && res.Header.Get("X-Registration-Result") == "queued"
	})
	return app, f
}

func unpause(t *testing.T, app *testApp) {
	t.Helper()
	if _, err := app.DB.Exec("UPDATE registration_windows SET paused = FALSE"); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserQueuedIntent: while registration is queued every page says so; Register
// then leads to the waiting room, which says it keeps the click; at admission alice is
// back on the catalog she filtered, at the section's row, offered Register again.
func TestBrowserQueuedIntent(t *testing.T) {
	requireBrowser(t)
	app, f := queuedApp(t)
	const label = "MATH150-01"
	b := newBrowser(t)
	b.signIn(app, alice)
	b.waitFor("the queued banner on the home page", `document.querySelector('[data-testid="queued-banner"]') !== null`)
	b.open(app.URL + "/courses?dept=MATH")
	b.waitPage("the MATH sections", func(s pageState) bool { return slices.Contains(s.Sections, label) })
	b.waitFor("the queued banner on the catalog", `document.querySelector('[data-testid="queued-banner"]') !== null`)

	b.click("register for "+label+" while queued", f.button(t, label, "register"))
	b.waitFor("the waiting page, keeping the click",
		`location.pathname === "/queue" && document.querySelector('[data-testid="intent-kept"]') !== null && document.querySelector('[data-testid="queue-status"]') !== null`)
	unpause(t, app)
	anchor := "#section-" + itoa(f.Sections[label])
	b.waitFor("the catalog again, at the section",
		`location.pathname === "/courses" && location.search.includes("dept=MATH") && location.hash === "`+anchor+`" && document.querySelector('[data-testid="intent-banner"]') !== null`)
	s := b.waitPage("the row", func(s pageState) bool { return len(s.Sections) > 0 })
	if !slices.Contains(s.Rows[label].Buttons, "register") {
		t.Errorf("the row of %s offers %v, want Register", label, s.Rows[label].Buttons)
	}
	if text := b.text(`[data-testid="intent-banner"]`); !strings.Contains(text, "Press Register again") {
		t.Errorf("intent banner %q", text)
	}
	if b.text(`[data-testid="queued-banner"]`) != "" {
		t.Error("the queued banner is still shown after admission")
	}
	b.click("register for "+label+" again", f.button(t, label, "register"))
	s = b.waitPage("the answer in the row", func(s pageState) bool { return s.Rows[label].Result != "" })
	if r := s.Rows[label]; r.Result != "Registered for "+label+"." {
		t.Errorf("row result %q, want registered", r.Result)
	}
	// Shown once: the next page has no banner.
	b.open(app.URL + "/courses")
	if b.text(`[data-testid="intent-banner"]`) != "" {
		t.Error("the intent banner came back on the next page")
	}
	b.checkConsole(httpStatus(app.URL+"/registrations", 403))
}

// TestBrowserQueueWithoutJavaScript: without scripts, Register answers with a page whose
// banner leads to the waiting room; its button takes a place, the page reloads itself
// until the turn comes, and Enter leads back to the catalog at the section.
func TestBrowserQueueWithoutJavaScript(t *testing.T) {
	requireBrowser(t)
	app, f := queuedApp(t)
	const label = "MATH150-01"
	b := newBrowser(t)
	b.signIn(app, alice)
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	b.do("open the catalog", chromedp.Navigate(app.URL+"/courses?dept=MATH"))
	b.waitFor("the catalog", `document.readyState === "complete" && document.querySelector('[data-testid="section-row"]') !== null`)
	b.click("register for "+label, f.button(t, label, "register"))
	b.waitFor("the answer with the banner", `location.pathname === "/registrations" && document.readyState === "complete" && document.querySelector('[data-testid="queued-banner"] a') !== null`)
	b.click("go to the waiting room", `[data-testid="queued-banner"] a`)
	b.waitFor("the join button", `location.pathname === "/queue" && document.querySelector('[data-testid="queue-join"] button') !== null`)
	b.click("take a place", `[data-testid="queue-join"] button`)
	b.waitFor("the place in line", `document.querySelector('[data-testid="queue-status"]') !== null`)
	unpause(t, app)
	// Nothing is clicked until the page, reloading itself, offers Enter.
	b.waitFor("the admission", `document.querySelector('[data-testid="queue-enter"] button') !== null`)
	if s := b.state(); s.HTMX {
		t.Fatal("htmx ran with scripts disabled")
	}
	b.click("enter", `[data-testid="queue-enter"] button`)
	b.waitFor("the catalog at the section", `location.pathname === "/courses" && location.search.includes("dept=MATH") && location.hash === "#section-`+itoa(f.Sections[label])+`" && document.querySelector('[data-testid="intent-banner"]') !== null`)
	b.click("register for "+label, f.button(t, label, "register"))
	b.waitFor("the registration", `(document.querySelector('[data-testid="alert"]')?.textContent ?? "").includes("Registered for `+label+`")`)
}

// text is the trimmed text of the first element the selector matches, "" for none.
func (b *browser) text(selector string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector(`+"`"+selector+"`"+`)?.textContent ?? "").trim()`))
	if err != nil {
		b.t.Fatalf("read %s: %v", selector, err)
	}
	return s
}
