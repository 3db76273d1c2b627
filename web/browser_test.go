package web_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium against the real app. They fail, never skip,
// when the browser or the front-end assets are missing.
const (
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds a whole test; each step waits on a DOM condition, not a clock.
	browserTimeout = 60 * time.Second
	// screenshotDirEnv names a directory to keep the screenshots in; t.TempDir() otherwise.
	screenshotDirEnv = "SCHOOL_BROWSER_SCREENSHOTS"
)

// TestBrowserCatalogFilters signs in with the real login form, then filters the catalog
// the way a user does: the HTMX form swaps the results in place and pushes the filter
// into the address bar, with no full page load.
func TestBrowserCatalogFilters(t *testing.T) {
	requireBrowser(t)
	// Default options, so Secure cookies: Chromium stores them from http://127.0.0.1.
	app := newTestApp(t)
	seedCatalog(t, app.DB)
	b := newBrowser(t)

	// Sign in through the form.
	b.do("open the sign-in page", chromedp.Navigate(app.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	b.do("sign in as alice",
		chromedp.SendKeys(chromedp.ID("username"), alice.Username),
		chromedp.SendKeys(chromedp.ID("password"), alice.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)))
	b.waitFor("the signed-in home page",
		`location.pathname === "/" && document.querySelector('[data-testid="logout"]') !== null`)

	// The catalog, fully loaded: every section, and HTMX running.
	b.do("open the catalog", chromedp.Navigate(app.URL+"/courses"))
	b.waitFor("the catalog to load", `document.readyState === "complete"`)
	if !b.state().HTMX {
		t.Fatalf("htmx did not load on /courses: run `make assets` to put htmx.min.js and pico.min.css in web/static/vendor")
	}
	all := b.waitCatalog("every section", func(c catalogState) bool { return len(c.Sections) == 6 })
	history := b.historyLength()

	// A full page load would lose this.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__noReload = 42`))

	// Typing a keyword narrows the rows to the one matching course.
	b.do("type a keyword", chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-q"]`), "Calculus"))
	s := b.waitCatalog("only the Calculus sections", func(c catalogState) bool {
		return strings.Contains(c.URL, "q=Calculus") && slices.Equal(c.Sections, []string{"MATH101-01", "MATH101-02"})
	})
	if s.Count == all.Count || countIn(t, s.Count) != 2 {
		t.Errorf("result count after the keyword = %q, want 2 (before: %q)", s.Count, all.Count)
	}
	b.noReload("the keyword search")
	if n := b.historyLength(); n <= history {
		t.Errorf("history has %d entries after the keyword search, %d before: the URL was not pushed", n, history)
	}

	// Picking a department with the keyboard, as on a closed select: "M" picks MATH.
	b.do("pick the MATH department", chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-dept"]`), "M"))
	s = b.waitCatalog("the MATH filter in the URL", func(c catalogState) bool {
		return strings.Contains(c.URL, "dept=MATH") && strings.Contains(c.URL, "q=Calculus") && len(c.Sections) > 0
	})
	for _, sec := range s.Sections {
		if !strings.HasPrefix(sec, "MATH") {
			t.Errorf("section %s listed under the MATH department", sec)
		}
	}
	b.noReload("the department filter")

	// Ticking "open seats only" drops the full section.
	b.do("tick the open-seats switch", chromedp.Click(chromedp.CSS(`[data-testid="filter-open"]`)))
	s = b.waitCatalog("only the open Calculus section", func(c catalogState) bool {
		return strings.Contains(c.URL, "open=1") && slices.Equal(c.Sections, []string{"MATH101-02"})
	})
	if countIn(t, s.Count) != 1 {
		t.Errorf("result count with open seats only = %q, want 1", s.Count)
	}
	b.noReload("the open-seats filter")
	location, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/courses?", "q=Calculus", "dept=MATH", "open=1"} {
		if !strings.Contains(location, want) {
			t.Errorf("location %q lacks %q", location, want)
		}
	}

	b.screenshot("catalog-filtered.png")

	// The pushed URL is a page of its own: loading it shows the same results and filters.
	b.do("reload the pushed URL", chromedp.Navigate(location))
	s = b.waitCatalog("the filtered catalog after a reload", func(c catalogState) bool {
		return c.Marker == 0 && slices.Equal(c.Sections, []string{"MATH101-02"})
	})
	if q, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`[data-testid="filter-q"]`))); err != nil || q != "Calculus" {
		t.Errorf("keyword box after a reload = %q, %v; want Calculus", q, err)
	}
	b.checkConsole()
}

// requireBrowser fails the test when chromium is not installed, or when `make assets` has
// not run: the pages would load without HTMX and every step would time out.
func requireBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	for _, f := range []string{"htmx.min.js", "pico.min.css"} {
		if _, err := os.Stat(filepath.Join("static", "vendor", f)); err != nil {
			t.Fatalf("web/static/vendor/%s is missing: run `make assets` first (%v)", f, err)
		}
	}
}

// browser is one chromium tab for one test.
type browser struct {
	t       *testing.T
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
}

// newBrowser starts a headless chromium with a fresh profile. It closes with the test.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	profile := t.TempDir()
	// Chromium's helper processes can still write in the profile for a moment after the
	// browser exits; wait for them before t.TempDir removes it (cleanups run last first).
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	output := &syncBuffer{}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.CombinedOutput(output),
	)
	t.Cleanup(cancelAlloc) // waits for the browser process to end
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	t.Cleanup(func() {
		if t.Failed() {
			out := output.String()
			t.Logf("chromium output (last 4 kB):\n%s", out[max(0, len(out)-4096):])
		}
	})

	b := &browser{t: t}
	// Subscribe before the first page, so no message is lost.
	messages := chromedp.Console(tabCtx)
	// The first Run starts the browser and binds it to tabCtx: keep the timeout off it.
	if err := chromedp.Do(tabCtx); err != nil {
		t.Fatalf("start %s: %v\n%s", chromiumPath, err, output.String())
	}
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	ctx, cancel := context.WithTimeout(tabCtx, browserTimeout)
	t.Cleanup(cancel)
	b.ctx = ctx
	return b
}

// do runs actions and fails the test at the first error.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v%s", step, err, b.diagnostics())
	}
}

// waitFor waits until the JavaScript expression is true in the page. Errors while a
// page loads (no document yet) just mean "not yet".
func (b *browser) waitFor(what, expr string) {
	b.t.Helper()
	b.poll(what, func() bool {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		return err == nil && ok
	})
}

// catalogState is what the catalog page shows, read in one go.
type catalogState struct {
	URL      string   `json:"url"`
	Marker   int      `json:"marker"` // window.__noReload: 0 on a freshly loaded page
	HTMX     bool     `json:"htmx"`
	Count    string   `json:"count"`    // the result-count text
	Sections []string `json:"sections"` // "MATH101-02", in table order
}

const catalogStateJS = `(() => ({
	url: location.href,
	marker: window.__noReload || 0,
	htmx: typeof window.htmx === "object",
	count: (document.querySelector('[data-testid="result-count"]')?.textContent ?? "").trim(),
	sections: Array.from(document.querySelectorAll('[data-testid="section-row"]'),
		row => row.querySelector("strong").textContent.trim() + "-" + row.cells[1].textContent.trim()),
}))()`

func (b *browser) state() catalogState {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[catalogState](catalogStateJS))
	if err != nil {
		b.t.Fatalf("read the catalog: %v%s", err, b.diagnostics())
	}
	return s
}

// waitCatalog waits until the catalog satisfies ok, and returns what it shows then.
func (b *browser) waitCatalog(what string, ok func(catalogState) bool) catalogState {
	b.t.Helper()
	var last catalogState
	b.poll(what, func() bool {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[catalogState](catalogStateJS))
		if err != nil {
			return false
		}
		last = s
		return ok(s)
	}, func() string { return fmt.Sprintf("\nlast seen: %+v", last) })
	return last
}

// poll checks done until it holds or the test's browser context ends. It polls from Go,
// not with chromedp.Poll, because a wait may span a page load (chromedp.Poll ends with an
// error on one) and because the predicates and the failure messages are easier in Go.
func (b *browser) poll(what string, done func() bool, detail ...func() string) {
	b.t.Helper()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		select {
		case <-b.ctx.Done():
			msg := ""
			for _, d := range detail {
				msg += d()
			}
			b.t.Fatalf("waiting for %s: %v%s%s", what, b.ctx.Err(), msg, b.diagnostics())
		case <-tick.C:
		}
	}
}

// noReload fails the test when the page was loaded again since the marker was set.
func (b *browser) noReload(after string) {
	b.t.Helper()
	if s := b.state(); s.Marker != 42 {
		b.t.Fatalf("after %s the page marker is %d, want 42: the page was reloaded (now at %s)", after, s.Marker, s.URL)
	}
}

func (b *browser) historyLength() int {
	b.t.Helper()
	h, err := chromedp.Run(b.ctx, chromedp.NavigationEntries())
	if err != nil {
		b.t.Fatal(err)
	}
	return len(h.Entries)
}

// screenshot saves the viewport as PNG, only to show that the page renders.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		b.t.Fatalf("screenshot is not a PNG (%d bytes)", len(png))
	}
	dir := os.Getenv(screenshotDirEnv)
	if dir == "" {
		dir = b.t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s (%d bytes)", path, len(png))
}

// checkConsole fails the test on uncaught exceptions and on errors, such as CSP refusals.
// The 404 of the favicon, which the browser asks for on its own, is no error of the page.
func (b *browser) checkConsole() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		if strings.HasSuffix(m.URL, "/favicon.ico") {
			continue
		}
		if m.IsException() || m.Type == chromedp.ConsoleError {
			b.t.Errorf("browser console: %s (%s:%d)", m, m.URL, m.Line+1)
		}
	}
}

// diagnostics describes the page for a failure message.
func (b *browser) diagnostics() string {
	// The test context may be over; read the page with a short context of its own.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), 5*time.Second)
	defer cancel()
	var out strings.Builder
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		fmt.Fprintf(&out, "\npage: %s", loc)
	}
	if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); err == nil {
		fmt.Fprintf(&out, "\ntext:\n%s", text)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, m := range b.console {
		fmt.Fprintf(&out, "\nconsole %s", m)
	}
	return out.String()
}

// countIn reads the number in a result-count text, in either language.
func countIn(t *testing.T, text string) int {
	t.Helper()
	digits := strings.TrimLeftFunc(text, func(r rune) bool { return r < '0' || r > '9' })
	end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		digits = digits[:end]
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		t.Fatalf("no number in the result count %q", text)
	}
	return n
}
