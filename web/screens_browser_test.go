package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserBackAfterSignOut: on a shared lab PC, Back after signing out must show the
// sign-in page, not the last student's registrations from a cache.
func TestBrowserBackAfterSignOut(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	// alice holds a section, so her page has something private on it.
	c := app.client(t)
	app.login(t, c, alice)
	if res, _ := app.post(t, c, "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH150-01"])}}); res.Header.Get("X-Registration-Result") != "enrolled" {
		t.Fatalf("register: %q", res.Header.Get("X-Registration-Result"))
	}

	b := newBrowser(t)
	b.signIn(app, alice)
	b.click("open my registrations from the nav", `nav a[href="/registrations"]`)
	b.waitPage("alice's registrations", func(s pageState) bool { return s.Path == "/registrations" && len(s.Sections) == 1 })
	b.click("sign out", `[data-testid="logout"]`)
	b.waitFor("the sign-in page", `location.pathname === "/login" && document.querySelector('[data-testid="login-form"]') !== null`)
	b.do("press Back", chromedp.Evaluate[chromedp.Void](`history.back()`))
	b.waitFor("the sign-in page after Back",
		`document.readyState === "complete" && document.querySelector('[data-testid="login-form"]') !== null && location.search.includes("next=")`)
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if s := b.state(); len(s.Sections) != 0 || strings.Contains(text, "MATH150") || strings.Contains(text, alice.Name) {
		t.Errorf("Back after sign-out shows %s with %v:\n%s", s.URL, s.Sections, text)
	}
	b.checkConsole()
}
