package web_test

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// axePath is axe-core as `make assets` installs it from npm; the tests inject it into the
// pages, the app never serves it.
var axePath = filepath.Join("..", "node_modules", "axe-core", "axe.min.js")

// A phone held upright, the narrowest screen the layout is made for.
const phoneWidth, phoneHeight = 375, 812

// viewport makes the tab a phone (narrow widths) or a desktop window.
func (b *browser) viewport(width, height int64) {
	b.t.Helper()
	if width < 768 {
		b.do(fmt.Sprintf("a %d px phone", width), chromedp.EmulateViewport(width, height, chromedp.EmulatePortrait, chromedp.EmulateMobile, chromedp.EmulateTouch))
		return
	}
	b.do(fmt.Sprintf("a %d px window", width), chromedp.EmulateViewport(width, height))
}

// visit loads url as a full page and checks that it is in lang.
func (b *browser) visit(url, lang string) pageState {
	b.t.Helper()
	b.do("open "+url, chromedp.Navigate(url))
	b.waitFor(url+" to load", `document.readyState === "complete"`)
	s := b.state()
	if s.Lang != lang {
		b.t.Fatalf("%s is in %q, want %q", s.URL, s.Lang, lang)
	}
	return s
}

// switchLanguage clicks the language switch the screen shows (the wide header's or the
// phone header's) and waits for the page in lang.
func (b *browser) switchLanguage(lang string) {
	b.t.Helper()
	b.do("switch the language to "+lang, chromedp.Evaluate[chromedp.Void](
		`Array.from(document.querySelectorAll('[data-testid="lang-switch"]')).find(e => e.getClientRects().length > 0).click()`))
	b.waitFor("the page in "+lang, fmt.Sprintf(`document.readyState === "complete" && document.documentElement.lang === %q`, lang))
}

// box is an element's place in the viewport, in CSS pixels.
type box struct {
	Left, Right, Top, Bottom, Height float64
	FontSize                         float64 `json:"fontSize"`
}

// inView reports whether the box lies inside a viewport of w × h without scrolling.
func (x *box) inView(w, h float64) bool {
	return x != nil && x.Left >= 0 && x.Right <= w+0.5 && x.Top >= 0 && x.Bottom <= h+0.5
}

// layout is where the parts of a page that decide a student's next step are.
type layout struct {
	Width, Height float64
	ScrollWidth   float64 `json:"scrollWidth"`
	Header        *box
	Course        *box // the first section row's course
	Seats         *box // its seats left
	Action        *box // its first button
	Days          []struct {
		Day int
		box
	}
	Seat *box // the first seat button of an event's map
}

const layoutJS = `(() => {
	const r = el => {
		if (!el) return null;
		const b = el.getBoundingClientRect();
		return {left: b.left, right: b.right, top: b.top, bottom: b.bottom, height: b.height, fontSize: parseFloat(getComputedStyle(el).fontSize)};
	};
	const row = document.querySelector('[data-testid="section-row"]');
	return {
		width: document.documentElement.clientWidth,
		height: window.innerHeight,
		scrollWidth: document.documentElement.scrollWidth,
		header: r(document.querySelector("body > header")),
		course: r(row && row.querySelector("td strong")),
		seats: r(row && row.querySelector('[data-testid="seats-left"]')),
		action: r(row && row.querySelector("button[data-testid]")),
		days: Array.from(document.querySelectorAll("table.timetable thead th[data-weekday]"), th => Object.assign({day: Number(th.dataset.weekday)}, r(th))),
		seat: r(document.querySelector("button.seat")),
	};
})()`

func (b *browser) layout() layout {
	b.t.Helper()
	l, err := chromedp.Run(b.ctx, chromedp.Evaluate[layout](layoutJS))
	if err != nil {
		b.t.Fatalf("read the layout: %v%s", err, b.diagnostics())
	}
	return l
}

// TestBrowserPhoneLayout: at 375 px, in English and in Korean, a student sees the first
// course with its seats left and its Register button on the first screen, nothing needs
// a sideways scroll, the header stays compact, and the timetable shows every weekday.
func TestBrowserPhoneLayout(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	event := openEvent(t, app, 4, 20)
	// alice holds two sections (so the timetable has meetings) and keeps one in her basket.
	c := app.client(t)
	app.login(t, c, alice)
	for _, label := range []string{"MATH150-01", "CS101-01"} {
		if res, _ := app.post(t, c, "/registrations", url.Values{"section_id": {itoa(f.Sections[label])}}); res.Header.Get("X-Registration-Result") != "enrolled" {
			t.Fatalf("register %s: %q", label, res.Header.Get("X-Registration-Result"))
		}
	}
	app.post(t, c, "/basket", url.Values{"section_id": {itoa(f.Sections["MATH101-02"])}})

	b := newBrowserFor(t, 3*time.Minute)
	b.viewport(phoneWidth, phoneHeight)
	b.signIn(app, alice)
	var headers []string
	for _, lang := range []string{"en", "ko"} {
		if lang == "ko" {
			b.switchLanguage("ko")
		}
		b.visit(app.URL+"/courses", lang)
		l := b.layout()
		if l.Width != phoneWidth {
			t.Fatalf("%s: viewport %v px wide, want %d", lang, l.Width, phoneWidth)
		}
		if l.ScrollWidth > l.Width {
			t.Errorf("%s catalog: %v px wide in a %v px screen: it scrolls sideways", lang, l.ScrollWidth, l.Width)
		}
		for what, x := range map[string]*box{"the first course": l.Course, "its seats left": l.Seats, "its Register button": l.Action} {
			if !x.inView(l.Width, l.Height) {
				t.Errorf("%s catalog: %s at %+v, outside the first %v × %v screen", lang, what, x, l.Width, l.Height)
			}
		}
		// "80 / 80석 남음" on one line, not one token per line.
		if l.Seats != nil && l.Seats.Height > 2*l.Seats.FontSize {
			t.Errorf("%s catalog: seats left %v px high at %v px type: it wraps", lang, l.Seats.Height, l.Seats.FontSize)
		}
		if l.Header == nil || l.Header.Height > 120 {
			t.Errorf("%s: the header is %+v, want at most 120 px high", lang, l.Header)
		}
		if l.Header != nil {
			headers = append(headers, fmt.Sprintf("%s %.0f px", lang, l.Header.Height))
		}
		b.screenshot("phone-catalog-" + lang + ".png")

		b.visit(app.URL+"/timetable", lang)
		l = b.layout()
		var days []int
		for _, d := range l.Days {
			if d.box.inView(l.Width, l.Height) {
				days = append(days, d.Day)
			}
		}
		if !slices.Equal(days, []int{1, 2, 3, 4, 5}) {
			t.Errorf("%s timetable: weekdays in view %v, want Monday to Friday", lang, days)
		}
		b.screenshot("phone-timetable-" + lang + ".png")

		// The other student pages: nothing to the right of the screen; the rows' buttons
		// in reach.
		for _, path := range []string{"/", "/basket", "/registrations", "/events", fmt.Sprintf("/events/%d", event), "/notices"} {
			b.visit(app.URL+path, lang)
			l := b.layout()
			if l.ScrollWidth > l.Width {
				t.Errorf("%s %s: %v px wide in a %v px screen", lang, path, l.ScrollWidth, l.Width)
			}
			if l.Action != nil && (l.Action.Left < 0 || l.Action.Right > l.Width) {
				t.Errorf("%s %s: the first row's button at %+v, off the screen", lang, path, l.Action)
			}
			if strings.HasPrefix(path, "/events/") && (l.Seat == nil || l.Seat.Height < 36) {
				t.Errorf("%s %s: seat buttons %+v, want at least 36 px for a finger", lang, path, l.Seat)
			}
		}
	}
	t.Logf("figures: header height at %d px: %s", phoneWidth, strings.Join(headers, ", "))
	b.checkConsole()
}

// TestBrowserLanguageSwitch: switching keeps the page and its query (the filters HTMX
// pushed into the address bar), and <html lang> follows; without JavaScript, switching
// on the page a form answered returns to the page the form was on, not a 405.
func TestBrowserLanguageSwitch(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(app.URL + "/courses")
	b.do("type a keyword", chromedp.SendKeys(chromedp.CSS(`[data-testid="filter-q"]`), "Calculus"))
	b.waitPage("the Calculus sections, pushed to the address bar", func(s pageState) bool {
		return strings.Contains(s.URL, "q=Calculus") && slices.Equal(s.Sections, []string{"MATH101-01", "MATH101-02"})
	})
	b.switchLanguage("ko")
	s := b.waitPage("the filtered catalog in Korean", func(s pageState) bool { return len(s.Sections) > 0 })
	if !strings.Contains(s.URL, "q=Calculus") || !slices.Equal(s.Sections, []string{"MATH101-01", "MATH101-02"}) {
		t.Errorf("after the switch: %s with %v, want the Calculus filter kept", s.URL, s.Sections)
	}
	if !strings.HasPrefix(s.Title, "강의 목록") {
		t.Errorf("title after the switch %q, want Korean", s.Title)
	}
	if q, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`[data-testid="filter-q"]`))); err != nil || q != "Calculus" {
		t.Errorf("keyword box after the switch = %q, %v", q, err)
	}
	b.switchLanguage("en")

	// Without JavaScript: Register posts a plain form and answers with a page; the switch
	// there goes back to the catalog.
	if _, err := chromedp.Call(b.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	b.do("open the catalog without JavaScript", chromedp.Navigate(app.URL+"/courses?dept=MATH"))
	b.waitFor("the catalog", `document.readyState === "complete" && document.querySelector('[data-testid="section-row"]') !== null`)
	if s := b.state(); s.HTMX {
		t.Fatal("htmx ran with scripts disabled")
	}
	b.click("register for MATH150-01 without JavaScript", f.button(t, "MATH150-01", "register"))
	b.waitFor("the answer page", `location.pathname === "/registrations" && document.querySelector('[data-testid="alert"]') !== null`)
	b.switchLanguage("ko")
	s = b.state()
	if s.Path != "/courses" || !strings.Contains(s.URL, "dept=MATH") || !strings.HasPrefix(s.Title, "강의 목록") {
		t.Errorf("switching on the answer page led to %s (%q), want the catalog the form was on", s.URL, s.Title)
	}
	b.checkConsole()
}

// TestBrowserFocusAfterAction: after Register, focus is on the row's answer (a status
// message, so screen readers read it), and the focus ring stands out at least 3:1.
func TestBrowserFocusAfterAction(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(app.URL + "/courses")
	b.waitPage("every section", func(s pageState) bool { return len(s.Sections) == 6 })
	b.click("register for MATH150-01", f.button(t, "MATH150-01", "register"))
	b.waitPage("the answer in the row", func(s pageState) bool { return s.Rows["MATH150-01"].Result != "" })
	b.waitFor("focus on the answer", `document.activeElement?.dataset.testid === "row-result"`)
	live, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.activeElement.getAttribute("role") + " " + document.activeElement.textContent.trim()`))
	if err != nil || !strings.HasPrefix(live, "status Registered for MATH150-01") {
		t.Errorf("focused answer %q, %v: want a status saying what happened", live, err)
	}

	// The ring: Tab to the next control, as a keyboard user does.
	b.do("press Tab", chromedp.KeyEvent("\t"))
	ring, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(() => {
		const el = document.activeElement, cs = getComputedStyle(el);
		let bg = el.parentElement;
		while (bg && getComputedStyle(bg).backgroundColor.match(/rgba\(.*, 0\)|transparent/)) bg = bg.parentElement;
		return [el.tagName, cs.outlineStyle, cs.outlineWidth, cs.outlineColor, bg ? getComputedStyle(bg).backgroundColor : "rgb(255, 255, 255)"];
	})()`))
	if err != nil || len(ring) != 5 {
		t.Fatalf("focus ring: %v %v", ring, err)
	}
	ratio := contrast(t, ring[3], ring[4])
	if ring[1] == "none" || ring[2] == "0px" || ratio < 3 {
		t.Errorf("focus ring on %s: %s %s %s on %s, contrast %.2f:1, want a visible ring of at least 3:1", ring[0], ring[1], ring[2], ring[3], ring[4], ratio)
	}
	t.Logf("figures: focus ring %s against %s: %.2f:1", ring[3], ring[4], ratio)
	b.checkConsole()
}

// contrast is the WCAG contrast ratio of two CSS rgb() colours.
func contrast(t *testing.T, a, b string) float64 {
	t.Helper()
	lum := func(css string) float64 {
		var r, g, bl float64
		if _, err := fmt.Sscanf(strings.NewReplacer("rgba(", "rgb(", ",", " ").Replace(css), "rgb(%g %g %g", &r, &g, &bl); err != nil {
			t.Fatalf("colour %q: %v", css, err)
		}
		ch := func(v float64) float64 {
			v /= 255
			if v <= 0.03928 {
				return v / 12.92
			}
			return math.Pow((v+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(r) + 0.7152*ch(g) + 0.0722*ch(bl)
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

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

// axeFinding is one axe-core rule a page broke, with how many elements broke it.
type axeFinding struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Nodes   int      `json:"nodes"`
	Targets []string `json:"targets"`
}

// axe runs axe-core over the page as it stands and returns what it found. The
// experimental label-content-name-mismatch rule is on: speech-input users say what a
// button shows.
func (b *browser) axe(script string) []axeFinding {
	b.t.Helper()
	if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`)); err != nil || !ok {
		b.do("inject axe-core", chromedp.Evaluate[chromedp.Void](script))
	}
	found, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]axeFinding](`axe.run(document, {resultTypes: ["violations"], rules: {"label-content-name-mismatch": {enabled: true}}}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || "", nodes: v.nodes.length, targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))})))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("axe-core: %v%s", err, b.diagnostics())
	}
	return found
}

// TestBrowserAccessibility runs axe-core over every student and staff page, in English
// and Korean, at 1280 px and at 375 px: no violation of serious or critical impact.
func TestBrowserAccessibility(t *testing.T) {
	requireBrowser(t)
	script, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	courseDetails(t, app.DB)
	event := openEvent(t, app, 3, 10)
	staff := app.client(t)
	app.login(t, staff, sam)
	notice := app.createNotice(t, staff, "Registration opens", "Bring your **student card**.")
	if res, _ := app.post(t, staff, notice+"/publish", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("publish the notice: %d", res.StatusCode)
	}
	stu := app.client(t)
	app.login(t, stu, alice)
	if res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH150-01"])}}); res.Header.Get("X-Registration-Result") != "enrolled" {
		t.Fatalf("register: %q", res.Header.Get("X-Registration-Result"))
	}
	app.post(t, stu, "/basket", url.Values{"section_id": {itoa(f.Sections["MATH101-02"])}})
	// Notifications, one read and one not, so the page shows both kinds of entry.
	if _, err := app.DB.Exec(`INSERT INTO notifications (user_id, kind, args, read_at)
		SELECT id, 'promoted', '{"section":"MATH101-02","course":"Calculus"}', NOW(6) FROM users WHERE username = 'alice'
		UNION ALL SELECT id, 'staff_dropped', '{"section":"MATH150-01","course":"Statistics"}', NULL FROM users WHERE username = 'alice'`); err != nil {
		t.Fatal(err)
	}
	// Registration goes through the waiting room from here: the waiting page is a page
	// too, and every other page carries the waiting room's banner.
	queueWindow(t, app, ", paused = TRUE")
	eventually(t, "the waiting page", func() bool {
		res, _ := app.get(t, stu, "/queue")
		return res.StatusCode == http.StatusOK
	})
	id := func(query string) string { return itoa(int64(app.count(t, query))) }
	pages := map[string][]string{
		"student": {"/", "/courses", "/courses?dept=MATH&open=1", "/basket", "/registrations", "/timetable", "/timetable/preview", "/events",
			fmt.Sprintf("/events/%d", event), "/notices", "/notices/" + strings.TrimPrefix(notice, "/admin/notices/"), "/notifications", "/queue",
			"/registrations/print", "/courses/CS101", "/courses?type=major_required&year=1&day=1&period=1&others=1"},
		"staff": {"/admin", "/admin/audit", "/admin/terms", "/admin/terms/" + itoa(f.TermID), "/admin/departments",
			"/admin/departments/" + id("SELECT MIN(id) FROM departments"), "/admin/courses", "/admin/courses/" + id("SELECT MIN(id) FROM courses"),
			"/admin/sections", "/admin/sections/" + itoa(f.Sections["MATH150-01"]), "/admin/windows",
			"/admin/windows/" + id("SELECT MIN(id) FROM registration_windows"), "/admin/waiting-room", "/admin/events",
			"/admin/events/new", fmt.Sprintf("/admin/events/%d", event), "/admin/notices", "/admin/notices/new", notice,
			"/admin/dashboard", "/admin/import", "/admin/students", "/admin/students/alice"},
	}

	var loads, serious, other int
	for _, who := range []string{"student", "staff"} {
		user := alice
		if who == "staff" {
			user = sam
		}
		b := newBrowserFor(t, 4*time.Minute)
		b.signIn(app, user)
		for _, lang := range []string{"en", "ko"} {
			if lang == "ko" {
				b.switchLanguage("ko")
			}
			for _, width := range []int64{1280, phoneWidth} {
				b.viewport(width, 900)
				for _, path := range pages[who] {
					b.visit(app.URL+path, lang)
					loads++
					for _, v := range b.axe(string(script)) {
						if v.Impact == "serious" || v.Impact == "critical" {
							serious += v.Nodes
							t.Errorf("%s %s at %d px: %s (%s) on %d elements: %v", lang, path, width, v.ID, v.Impact, v.Nodes, v.Targets)
						} else {
							other += v.Nodes
							t.Logf("%s %s at %d px: %s (%s) on %d elements: %v", lang, path, width, v.ID, v.Impact, v.Nodes, v.Targets)
						}
					}
				}
			}
		}
		b.checkConsole()
	}
	t.Logf("figures: axe-core over %d page loads (%d student and %d staff pages × 2 languages × 2 widths): %d serious or critical violations, %d minor or moderate",
		loads, len(pages["student"]), len(pages["staff"]), serious, other)
}
