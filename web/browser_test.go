package web_test

import (
	"bytes"
	"cmp"
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
	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/internal/testlog"
	"github.com/schoolservice/school/waitingroom"
	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// The browser tests drive Debian's chromium against the real app. They fail, never skip,
// when the browser or the front-end assets are missing.
const (
	chromiumPath = "/usr/bin/chromium"
	// browserTimeout bounds a whole test; each step waits on a DOM condition, not a clock.
	browserTimeout = 3 * time.Minute
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
	b.signIn(app, alice)

	// The catalog, fully loaded: every section, and HTMX running.
	b.open(app.URL + "/courses")
	all := b.waitPage("every section", func(c pageState) bool { return len(c.Sections) == 6 })
	history := b.historyLength()

	// A full page load would lose this.
	b.mark()

	// Typing a keyword narrows the rows to the one matching course.
	b.do("type a keyword", chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-q"]`), "Calculus"))
	s := b.waitPage("only the Calculus sections", func(c pageState) bool {
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
	s = b.waitPage("the MATH filter in the URL", func(c pageState) bool {
		return strings.Contains(c.URL, "dept=MATH") && strings.Contains(c.URL, "q=Calculus") && len(c.Sections) > 0
	})
	for _, sec := range s.Sections {
		if !strings.HasPrefix(sec, "MATH") {
			t.Errorf("section %s listed under the MATH department", sec)
		}
	}
	b.noReload("the department filter")

	// Ticking "open seats only" drops the full section.
	b.click("tick the open-seats switch", `[data-testid="filter-open"]`)
	s = b.waitPage("only the open Calculus section", func(c pageState) bool {
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
	s = b.waitPage("the filtered catalog after a reload", func(c pageState) bool {
		return c.Marker == 0 && slices.Equal(c.Sections, []string{"MATH101-02"})
	})
	if q, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`[data-testid="filter-q"]`))); err != nil || q != "Calculus" {
		t.Errorf("keyword box after a reload = %q, %v; want Calculus", q, err)
	}
	b.checkConsole()
}

// TestBrowserRegistrationFlow is a student's registration from the catalog to a drop,
// all in one page: the row buttons swap their row, the boosted nav links swap the body,
// and the address bar follows.
func TestBrowserRegistrationFlow(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(app.URL + "/courses")
	catalog := b.waitPage("every section", func(s pageState) bool { return len(s.Sections) == 6 })
	b.mark()
	history := b.historyLength()

	// 1. Two sections into the basket: each answer replaces its own row, in place.
	picked := []string{"MATH150-01", "MATH101-02"}
	for _, label := range picked {
		b.click("add "+label+" to the basket", f.button(t, label, "basket-add"))
		s := b.waitPage(label+" in the basket", func(s pageState) bool {
			return strings.Contains(s.Rows[label].Result, label+" is in your basket")
		})
		if !slices.Equal(s.Sections, catalog.Sections) {
			t.Errorf("catalog rows after adding %s = %v, want %v (the row was not replaced in place)", label, s.Sections, catalog.Sections)
		}
		if r := s.Rows[label]; !slices.Contains(r.Buttons, "basket-remove") || slices.Contains(r.Buttons, "basket-add") {
			t.Errorf("row of %s in the basket has the buttons %v, want basket-remove instead of basket-add", label, r.Buttons)
		}
		b.noReload("adding " + label + " to the basket")
	}

	// 2. The basket, through the boosted nav link: both rows and their credits; then
	// "register all" answers one line per section.
	b.click("open the basket from the nav", `nav a[href="/basket"]`)
	s := b.waitPage("the basket with both sections", func(s pageState) bool {
		return s.Path == "/basket" && s.BasketCredits != "" && len(s.Sections) == 2
	})
	b.noReload("the nav link to the basket")
	if !sameSet(s.Sections, picked) {
		t.Errorf("basket rows = %v, want %v", s.Sections, picked)
	}
	if n := countIn(t, s.BasketCredits); n != 6 {
		t.Errorf("basket credit total %q: %d credits, want 6 (MATH150 2 + MATH101 4)", s.BasketCredits, n)
	}
	if !strings.HasPrefix(s.Title, "Basket") {
		t.Errorf("page title after the boosted link = %q, want the basket's", s.Title)
	}
	b.click("register all", `[data-testid="register-all"]`)
	s = b.waitPage("a result line per basket section", func(s pageState) bool { return len(s.BasketResults) == 2 })
	b.noReload("register all")
	for _, label := range picked {
		if !slices.Contains(s.BasketResults, "Registered for "+label+".") {
			t.Errorf("basket results %q lack %q", s.BasketResults, "Registered for "+label+".")
		}
	}
	if s.Path != "/basket" {
		t.Errorf("path after register all = %q, want /basket", s.Path)
	}
	b.screenshot("basket-results.png")

	// 3. The timetable: one meeting cell per registered section.
	b.click("open the timetable from the nav", `nav a[href="/timetable"]`)
	s = b.waitPage("the timetable with two meetings", func(s pageState) bool {
		return s.Path == "/timetable" && len(s.Meetings) > 0
	})
	b.noReload("the nav link to the timetable")
	if want := []int64{f.Sections["MATH101-02"], f.Sections["MATH150-01"]}; !sameSet(s.Meetings, want) {
		t.Errorf("timetable meeting cells of sections %v, want %v (MATH101-02, MATH150-01)", s.Meetings, want)
	}
	b.screenshot("timetable.png")

	// 4. My registrations: dropping MATH150-01 answers in its row and updates the
	// header's credits out of band.
	b.click("open my registrations from the nav", `nav a[href="/registrations"]`)
	s = b.waitPage("my registrations with both sections", func(s pageState) bool {
		return s.Path == "/registrations" && len(s.Sections) == 2
	})
	b.noReload("the nav link to my registrations")
	if !sameSet(s.Sections, picked) {
		t.Errorf("registered sections = %v, want %v", s.Sections, picked)
	}
	if n := countIn(t, s.Credits); n != 6 {
		t.Errorf("header credits on my registrations = %q, want 6", s.Credits)
	}
	b.click("drop MATH150-01", f.button(t, "MATH150-01", "drop"))
	s = b.waitPage("the drop of MATH150-01", func(s pageState) bool {
		return s.Rows["MATH150-01"].Result != ""
	})
	b.noReload("the drop")
	if r := s.Rows["MATH150-01"]; r.Result != "Dropped MATH150-01." || r.Refused {
		t.Errorf("row result after the drop = %q (refused %v), want %q", r.Result, r.Refused, "Dropped MATH150-01.")
	}
	if n := countIn(t, s.Credits); n != 4 {
		t.Errorf("header credits after the drop = %q, want 4: the answer's #credits did not replace the header's out of band", s.Credits)
	}
	if s.CreditBadges != 1 {
		t.Errorf("%d elements with id=\"credits\" after the drop, want 1: the answer's badge landed in the page", s.CreditBadges)
	}

	// 5. The address bar followed the boosted links, each a history entry of its own.
	location, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if location != app.URL+"/registrations" {
		t.Errorf("location at the end = %q, want %s/registrations", location, app.URL)
	}
	if n := b.historyLength(); n < history+3 {
		t.Errorf("history has %d entries after three boosted links, %d before", n, history)
	}
	b.checkConsole()
}

// TestBrowserRegistrationRefusal: the last seat goes to someone else while the catalog is
// open; "Register" then answers in the row with the refusal and a waitlist button.
func TestBrowserRegistrationRefusal(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	const label = "CS101-02"
	id := f.Sections[label]
	// One seat left while the page loads, so the row has a Register button.
	if _, err := app.DB.Exec("UPDATE sections SET enrolled = capacity - 1 WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(app.URL + "/courses")
	b.waitPage(label+" with a seat left", func(s pageState) bool { return slices.Contains(s.Rows[label].Buttons, "register") })
	b.mark()
	// Someone else takes it.
	if _, err := app.DB.Exec("UPDATE sections SET enrolled = capacity WHERE id = ?", id); err != nil {
		t.Fatal(err)
	}

	b.click("register for "+label, f.button(t, label, "register"))
	s := b.waitPage("the refusal in the row", func(s pageState) bool { return s.Rows[label].Result != "" })
	b.noReload("the refused registration")
	r := s.Rows[label]
	if !strings.Contains(r.Result, label+" is full. Join the waitlist") || !r.Refused {
		t.Errorf("row result = %q (refused %v), want the refused %q", r.Result, r.Refused, label+" is full. Join the waitlist ...")
	}
	if !slices.Contains(r.Buttons, "waitlist") || slices.Contains(r.Buttons, "register") {
		t.Errorf("buttons of the full row = %v, want waitlist and no register", r.Buttons)
	}

	b.click("join the waitlist of "+label, f.button(t, label, "waitlist"))
	s = b.waitPage("the waitlist position in the row", func(s pageState) bool { return s.Rows[label].Standing != "" })
	b.noReload("joining the waitlist")
	r = s.Rows[label]
	if !strings.Contains(r.Result, "number 1 on the waitlist") || r.Refused {
		t.Errorf("row result = %q (refused %v), want %q", r.Result, r.Refused, "You are number 1 on the waitlist ...")
	}
	if r.Standing != "Waitlist #1" {
		t.Errorf("standing badge = %q, want %q", r.Standing, "Waitlist #1")
	}
	if !slices.Contains(r.Buttons, "leave") {
		t.Errorf("buttons on the waitlist = %v, want leave", r.Buttons)
	}
	// The refusal is a 409: the browser logs the status, which is no fault of the page.
	b.checkConsole(httpStatus(app.URL+"/registrations", 409))
}

// TestBrowserWaitingRoom: registration is queued and four students are in line before
// alice. She opens the waiting page, which takes her place by itself (a POST as it
// loads), polls by itself and swaps its status in place; her place falls as the others
// are admitted, one a second, and when her turn comes the page takes her to registration
// (another POST, for the pass), where the pass the room gave her lets her register. She
// clicks nothing until then.
func TestBrowserWaitingRoom(t *testing.T) {
	requireBrowser(t)
	reg := prometheus.NewRegistry()
	app := newTestApp(t, func(o *web.Options) {
		o.QueuePoll = 300 * time.Millisecond
		o.Registry = reg
	})
	f := seedCatalog(t, app.DB)
	const ahead = 4
	queueOthers(t, app, ahead)
	// Paused until alice has her place, so that she is fifth however long her sign-in
	// takes; then one admission a second, nobody held back by the active limit, and
	// nobody dropped for not polling (the others never do).
	queueWindow(t, app, ", admit_per_second = 1, max_active = 1000, grace_seconds = 3600, paused = TRUE")
	eventually(t, "the room to see the queued window and the students in line", func() bool {
		return gauge(t, reg, "school_waiting_room_waiting") == ahead
	})

	b := newBrowser(t)
	b.signIn(app, alice)
	// Opening the page takes no place; the page takes it by itself, posting its join
	// form as it loads, and shows the place in the form's stead.
	b.open(app.URL + "/queue")
	if s := b.waitPage("the waiting page to take alice's place", func(s pageState) bool {
		return s.Path != "/queue" || s.Queue.State >= 0
	}); s.Path != "/queue" {
		t.Fatalf("opening /queue led to %s, not the waiting page%s", s.URL, b.diagnostics())
	}
	// What the waiting page showed, each change once: a state, or the position while waiting.
	var trail, positions []string
	var reloaded string
	marked := false
	watch := func(s pageState) {
		if s.Path != "/queue" || s.Queue.State < 0 {
			return
		}
		seen := queueStates[s.Queue.State]
		if s.Queue.State == waitingroom.Waiting {
			seen = s.Queue.Position
			if len(positions) == 0 || positions[len(positions)-1] != seen {
				positions = append(positions, seen)
			}
		}
		if len(trail) == 0 || trail[len(trail)-1] != seen {
			trail = append(trail, seen)
			if s.Queue.State != waitingroom.Waiting {
				t.Logf("waiting page, %s: %q", seen, s.Queue.Text)
			}
		}
		if marked && s.Marker != 42 && reloaded == "" {
			reloaded = s.URL
		}
	}
	s := b.waitPage("alice's place in line", func(s pageState) bool {
		watch(s)
		return s.Queue.State == waitingroom.Waiting || s.Queue.State == waitingroom.Lost
	})
	if s.Queue.State == waitingroom.Lost {
		t.Fatalf("alice's place was lost as soon as she took it: %q", s.Queue.Text)
	}
	if got := countIn(t, s.Queue.Position); got != ahead+1 {
		t.Fatalf("alice's position = %d, want %d: the %d students queued before her are not ahead of her", got, ahead+1, ahead)
	}
	if want := fmt.Sprintf("Students ahead of you: %d", ahead); !strings.Contains(s.Queue.Text, want) {
		t.Errorf("waiting page says %q, want %q", s.Queue.Text, want)
	}
	b.screenshot("waiting-room.png")
	b.mark()
	marked = true

	if _, err := app.DB.Exec("UPDATE registration_windows SET paused = FALSE"); err != nil {
		t.Fatal(err)
	}
	s = b.waitPage("registration, once alice's turn has come", func(s pageState) bool {
		watch(s)
		return s.Path == "/courses" && len(s.Sections) == 6 || s.Queue.State == waitingroom.Lost
	})
	t.Logf("the waiting page showed, in turn: %v", trail)
	if s.Queue.State == waitingroom.Lost {
		t.Fatalf("alice lost her place while waiting: %q", s.Queue.Text)
	}
	if reloaded != "" {
		t.Errorf("the waiting page was loaded again (%s) before alice's turn: its polls should only swap #queue-status", reloaded)
	}
	// Each poll shows the place as it stands: never further back, and it moved.
	n := make([]int, len(positions))
	for i, p := range positions {
		n[i] = countIn(t, p)
		if i > 0 && n[i] > n[i-1] {
			t.Errorf("alice's position went back from %d to %d (positions seen: %v)", n[i-1], n[i], n)
		}
	}
	if len(n) < 2 {
		t.Errorf("positions seen while waiting: %v; want the position to fall at least once", n)
	}
	// The admission arrives as a page load of its own: the admitted answer's form posts
	// to /queue/enter, whose HX-Redirect sends the browser to registration.
	if s.Marker != 0 || s.URL != app.URL+"/courses" {
		t.Errorf("after admission: %s (marker %d), want a fresh load of %s/courses", s.URL, s.Marker, app.URL)
	}

	// The pass works: the gate lets the registration through.
	const label = "MATH150-01"
	b.mark()
	b.click("register for "+label, f.button(t, label, "register"))
	s = b.waitPage("the answer in the row of "+label, func(s pageState) bool {
		return s.Path != "/courses" || s.Rows[label].Result != ""
	})
	if s.Path != "/courses" {
		t.Fatalf("registering for %s took alice to %s: the gate did not accept the pass from /queue/enter%s", label, s.URL, b.diagnostics())
	}
	b.noReload("the registration with the pass")
	if r := s.Rows[label]; r.Result != "Registered for "+label+"." || r.Refused {
		t.Errorf("row result = %q (refused %v), want %q", r.Result, r.Refused, "Registered for "+label+".")
	}
	b.checkConsole()
}

// queueOthers puts n other students of alice's year in line in the fixture's window, in
// the order the room will admit them: places taken after opening are ordered by id.
func queueOthers(t *testing.T, app *testApp, n int) {
	t.Helper()
	now := time.Now().UTC()
	for i := range n {
		name := fmt.Sprintf("early%d", i+1)
		res, err := app.DB.Exec("INSERT INTO users (username, display_name, role, class_year) VALUES (?, ?, 'student', 2)", name, name)
		if err != nil {
			t.Fatal(err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB.Exec(`INSERT INTO waiting_room_tickets
			(window_id, user_id, prequeue, position, state, joined_at, last_seen_at, changed_at)
			SELECT id, ?, FALSE, NULL, 'waiting', ?, ?, ? FROM registration_windows`, id, now, now, now); err != nil {
			t.Fatal(err)
		}
	}
}

// gauge reads a gauge of the app's registry, 0 when it has no sample.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// requireBrowser fails the test when chromium is not installed, or when `make assets` has
// not run: the pages would load without HTMX and every step would time out.
func requireBrowser(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser tests need chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	for _, f := range []string{filepath.Join("static", "vendor", "htmx.min.js"), filepath.Join("static", "vendor", "pico.min.css"), axePath} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s is missing: run `make assets` first (%v)", f, err)
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
	return newBrowserFor(t, browserTimeout)
}

// newBrowserFor is newBrowser for a test of many pages, bounded by timeout.
func newBrowserFor(t *testing.T, timeout time.Duration) *browser {
	t.Helper()
	profile := t.TempDir()
	// Chromium puts its singleton socket in a new folder of TMPDIR and leaves it there:
	// one per test in /tmp, hundreds a run, unless TMPDIR is the profile's own.
	tmp := filepath.Join(profile, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
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
	output := &testlog.Buffer{}
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
		// English pages whatever the machine's locale, and room for the wide tables.
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.WindowSize(1280, 1024),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR="+tmp),
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
	ctx, cancel := context.WithTimeout(tabCtx, timeout)
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

// signIn signs u in through the real sign-in form.
func (b *browser) signIn(app *testApp, u ldaptest.User) {
	b.t.Helper()
	b.do("open the sign-in page", chromedp.Navigate(app.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="login-form"]`)))
	b.do("sign in as "+u.Username,
		chromedp.SendKeys(chromedp.ID("username"), u.Username),
		chromedp.SendKeys(chromedp.ID("password"), u.Password),
		chromedp.Click(chromedp.CSS(`[data-testid="login-form"] button[type="submit"]`)))
	b.waitFor("the signed-in home page",
		`location.pathname === "/" && document.querySelector('[data-testid="logout"]') !== null`)
}

// open loads url as a full page and checks that HTMX runs on it, in English: the tests
// read the English texts.
func (b *browser) open(url string) {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.waitFor(url+" to load", `document.readyState === "complete"`)
	s := b.state()
	if !s.HTMX {
		b.t.Fatalf("htmx did not load on %s: run `make assets` to put htmx.min.js and pico.min.css in web/static/vendor", s.Path)
	}
	if s.Lang != "en" {
		b.t.Fatalf("%s is in %q, want English (the browser asks for en-US)", s.Path, s.Lang)
	}
}

// mark sets the marker that a full page load would lose; see noReload.
func (b *browser) mark() {
	b.t.Helper()
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__noReload = 42`))
}

// click clicks the element that the CSS selector names, once it is visible.
func (b *browser) click(step, selector string) {
	b.t.Helper()
	b.do(step, chromedp.Click(chromedp.CSS(selector)))
}

// button selects the button marked testid in the row of the section labelled "CS101-02".
func (f catalogFixture) button(t *testing.T, label, testid string) string {
	t.Helper()
	id, ok := f.Sections[label]
	if !ok {
		t.Fatalf("no section %s in the fixture", label)
	}
	return fmt.Sprintf(`#section-%d [data-testid=%q]`, id, testid)
}

// pageState is what a page of the app shows, read in one go. What a page lacks stays
// empty: no rows off the section tables, no basket results off the basket.
type pageState struct {
	URL    string `json:"url"`
	Path   string `json:"path"`
	Title  string `json:"title"`
	Lang   string `json:"lang"`
	Marker int    `json:"marker"` // window.__noReload: 0 on a freshly loaded page
	HTMX   bool   `json:"htmx"`
	// Idle: no HTMX request under way and nothing swapped in that HTMX has yet to
	// process, so the new buttons and links work the HTMX way.
	Idle          bool                `json:"idle"`
	Credits       string              `json:"credits"`      // the header's credit badge
	CreditBadges  int                 `json:"creditBadges"` // elements with id="credits" in the whole page
	Count         string              `json:"count"`        // the catalog's result count
	Sections      []string            `json:"sections"`     // section rows, "MATH101-02", in page order
	Rows          map[string]rowState `json:"rows"`         // by section label
	BasketCredits string              `json:"basketCredits"`
	BasketResults []string            `json:"basketResults"`
	Meetings      []int64             `json:"meetings"` // section id of each timetable meeting cell
	Queue         queueState          `json:"queue"`
}

// queueState is what the waiting page's status section shows.
type queueState struct {
	State    waitingroom.State `json:"state"`    // its data-state; -1 off the waiting page
	Position string            `json:"position"` // the place in line, while waiting
	Text     string            `json:"text"`
}

var queueStates = map[waitingroom.State]string{waitingroom.Joining: "joining", waitingroom.Prequeue: "prequeue",
	waitingroom.Waiting: "waiting", waitingroom.Admitted: "admitted", waitingroom.Lost: "lost"}

// rowState is what a section row shows the student.
type rowState struct {
	Result   string   `json:"result"` // the answer to the action just taken
	Refused  bool     `json:"refused"`
	Standing string   `json:"standing"` // the "Registered" or "Waitlist #1" badge
	Buttons  []string `json:"buttons"`  // data-testid of each button, in order
}

const pageStateJS = `(() => {
	const text = (root, sel) => (root.querySelector(sel)?.textContent ?? "").trim();
	const label = row => row.querySelector("strong").textContent.trim() + "-" + row.cells[1].textContent.trim();
	const rows = Array.from(document.querySelectorAll('[data-testid="section-row"]'));
	return {
		url: location.href,
		path: location.pathname,
		title: document.title,
		lang: document.documentElement.lang,
		marker: window.__noReload || 0,
		htmx: typeof window.htmx === "object",
		idle: document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null,
		credits: text(document, "header #credits"),
		creditBadges: document.querySelectorAll("#credits").length,
		count: text(document, '[data-testid="result-count"]'),
		sections: rows.map(label),
		rows: Object.fromEntries(rows.map(row => [label(row), {
			result: text(row, '[data-testid="row-result"]'),
			refused: row.querySelector('[data-testid="row-result"].refused') !== null,
			standing: text(row, '[data-testid="standing"]'),
			buttons: Array.from(row.querySelectorAll("button[data-testid]"), b => b.dataset.testid),
		}])),
		basketCredits: text(document, '[data-testid="basket-credits"]'),
		basketResults: Array.from(document.querySelectorAll('[data-testid="basket-result"]'), li => li.textContent.trim()),
		meetings: Array.from(document.querySelectorAll('[data-testid="meeting"]'), td => Number(td.dataset.sectionId)),
		queue: ((status) => ({
			state: status ? Number(status.dataset.state) : -1,
			position: text(document, '[data-testid="queue-position"]'),
			text: status ? status.innerText.trim() : "",
		}))(document.querySelector('[data-testid="queue-status"]')),
	};
})()`

func (b *browser) state() pageState {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageState](pageStateJS))
	if err != nil {
		b.t.Fatalf("read the page: %v%s", err, b.diagnostics())
	}
	return s
}

// waitPage waits until HTMX is idle and the page satisfies ok, and returns what the page
// shows then.
func (b *browser) waitPage(what string, ok func(pageState) bool) pageState {
	b.t.Helper()
	var last pageState
	b.poll(what, func() bool {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageState](pageStateJS))
		if err != nil {
			return false
		}
		last = s
		return s.Idle && ok(s)
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

// checkConsole fails the test on uncaught exceptions and on errors, such as CSP refusals,
// but those that expected reports as the test's own doing. The 404 of the favicon, which
// the browser asks for on its own, is no error of the page.
func (b *browser) checkConsole(expected ...func(chromedp.ConsoleMessage) bool) {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
next:
	for _, m := range b.console {
		if strings.HasSuffix(m.URL, "/favicon.ico") {
			continue
		}
		for _, e := range expected {
			if e(m) {
				continue next
			}
		}
		if m.IsException() || m.Type == chromedp.ConsoleError {
			hint := ""
			if strings.HasPrefix(m.Text, "Response Status Error Code") {
				hint = `: htmx logs every answer that the responseHandling of its config marks "error":true`
			}
			b.t.Errorf("browser console: %s (%s:%d)%s", m, m.URL, m.Line+1, hint)
		}
	}
}

// httpStatus matches the browser's log entry for an answer with that status from url.
func httpStatus(url string, status int) func(chromedp.ConsoleMessage) bool {
	return func(m chromedp.ConsoleMessage) bool {
		return m.Source == "network" && m.URL == url && strings.Contains(m.Text, fmt.Sprintf("status of %d ", status))
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

// sameSet reports whether got and want hold the same elements, in any order.
func sameSet[E cmp.Ordered](got, want []E) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// countIn reads the first number in a text, such as a result count, in either language.
func countIn(t *testing.T, text string) int {
	t.Helper()
	digits := strings.TrimLeftFunc(text, func(r rune) bool { return r < '0' || r > '9' })
	end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		digits = digits[:end]
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		t.Fatalf("no number in %q", text)
	}
	return n
}
