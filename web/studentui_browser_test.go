package web_test

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/schoolservice/school/web/ldaptest"
)

// deviceClockSkew is how wrong the browser's own clock is made in the countdown test:
// past the opening, so a page that trusted it would be ready at once.
const deviceClockSkew = 3 * time.Hour

// skewDeviceClockJS makes Date (Date.now() and new Date()) run deviceClockSkew fast in
// every document the tab loads.
var skewDeviceClockJS = fmt.Sprintf(`(() => {
	const skew = %d, Real = Date;
	function Skewed(...a) {
		if (!new.target) return Real();
		return a.length ? new Real(...a) : new Real(Real.now() + skew);
	}
	Skewed.prototype = Real.prototype;
	Skewed.now = () => Real.now() + skew;
	Skewed.UTC = Real.UTC;
	Skewed.parse = Real.parse;
	window.Date = Skewed;
})()`, deviceClockSkew.Milliseconds())

// clockState is what the header's server clock and the buttons it holds show.
type clockState struct {
	Present  bool   `json:"present"`
	State    string `json:"state"`
	Synced   bool   `json:"synced"`
	Time     string `json:"time"`
	Left     string `json:"left"`
	Status   string `json:"status"`
	OpenedAt int64  `json:"openedAt"`
	Register int    `json:"register"` // Register buttons on the page
	Enabled  int    `json:"enabled"`  // of them, enabled
	Quick    bool   `json:"quick"`    // the quick registration button is enabled
	Device   int64  `json:"device"`   // Date.now() in the page
	Idle     bool   `json:"idle"`
}

const clockStateJS = `(() => {
	const c = document.querySelector('[data-testid="server-clock"]');
	const regs = Array.from(document.querySelectorAll('[data-testid="register"]'));
	const quick = document.querySelector('[data-testid="quick-submit"]');
	const base = {register: regs.length, enabled: regs.filter(b => !b.disabled).length, quick: !!quick && !quick.disabled, device: Date.now(),
		idle: document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling") === null};
	if (!c) return Object.assign(base, {present: false});
	const left = c.querySelector("[data-clock-left]");
	return Object.assign(base, {
		present: true,
		state: c.dataset.state,
		synced: !c.querySelector("[data-clock-now]").hidden,
		time: c.querySelector("[data-clock-time]").textContent.trim(),
		left: left && !left.hidden ? left.textContent.trim() : "",
		status: c.querySelector("[data-clock-status]").textContent.trim(),
		openedAt: Number(c.dataset.openedAt || 0),
	});
})()`

func (b *browser) waitClock(what string, ok func(clockState) bool) clockState {
	b.t.Helper()
	var last clockState
	b.poll(what, func() bool {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[clockState](clockStateJS))
		if err != nil {
			return false
		}
		last = s
		return ok(s)
	}, func() string { return fmt.Sprintf("\nlast seen: %+v", last) })
	return last
}

// secondsOfDay reads "09:59:52 KST" (or "Time left 00:00:07") as seconds.
func secondsOfDay(t *testing.T, text string) int {
	t.Helper()
	f := strings.Fields(text)
	for _, w := range f {
		var h, m, s int
		if n, _ := fmt.Sscanf(w, "%d:%d:%d", &h, &m, &s); n == 3 {
			return h*3600 + m*60 + s
		}
	}
	t.Fatalf("no hh:mm:ss in %q", text)
	return 0
}

// TestBrowserCountdownOpensByServerTime: the server's clock (the app's, faked by the
// test) stands a few seconds before alice's opening; the browser's own clock is three
// hours fast (past the opening) and in another time zone. The header shows the server's
// time and counts down, the register buttons held; at zero by the server's time, with
// no reload and no click, the page turns ready, and a registration then goes through.
func TestBrowserCountdownOpensByServerTime(t *testing.T) {
	requireBrowser(t)
	var clock shiftedClock
	app := newTestApp(t, clock.configure)
	f := seedCatalog(t, app.DB)
	opens := time.Now().Add(time.Hour).Truncate(time.Second)
	if opens.In(seoul).Hour() == 0 {
		opens = opens.Add(time.Hour) // the countdown is shown on the opening's day: keep the lead on it
	}
	if _, err := app.DB.Exec("UPDATE registration_windows SET opens_at = ?, closes_at = ?", opens.UTC(), opens.Add(2*time.Hour).UTC()); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)

	b := newBrowser(t)
	if _, err := chromedp.Call(b.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: skewDeviceClockJS}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/Los_Angeles"}); err != nil {
		t.Fatal(err)
	}
	b.signIn(app, alice)

	// The server's clock: lead before the opening.
	const lead = 8 * time.Second
	clock.Shift(time.Until(opens) - lead)
	// The header reads this replica's catalog, which takes the window's new times within
	// its poll (a second): the page is opened once it has them.
	waitForServerClock(t, app, alice)
	b.open(app.URL + "/courses")
	b.mark()
	before := clock.Now()
	s := b.waitClock("the server clock and the countdown", func(s clockState) bool {
		return s.Present && s.Synced && s.State == "waiting" && s.Left != ""
	})
	after := clock.Now()
	if s.Device < opens.Add(time.Hour).UnixMilli() {
		t.Fatalf("the page's Date.now() is %d, the opening %d: the device's clock is not past the opening", s.Device, opens.UnixMilli())
	}
	// What the clock shows is the server's time, not the device's (three hours on) nor
	// its zone's: between the server's clock before and after the read, a second either side.
	shown := secondsOfDay(t, s.Time)
	lo, hi := secondsOfDay(t, before.In(seoul).Format("15:04:05"))-1, secondsOfDay(t, after.In(seoul).Format("15:04:05"))+1
	if !strings.HasSuffix(s.Time, " KST") || !(lo <= shown && shown <= hi || hi < lo && (shown >= lo || shown <= hi)) {
		t.Errorf("the header's server time reads %q; the server's clock was %s to %s", s.Time,
			before.In(seoul).Format("15:04:05"), after.In(seoul).Format("15:04:05"))
	}
	left := secondsOfDay(t, s.Left)
	if want := opens.Sub(after).Seconds(); float64(left) < want-1 || float64(left) > opens.Sub(before).Seconds()+1 {
		t.Errorf("countdown %q (%d s), want about %.0f s to the opening", s.Left, left, want)
	}
	if !strings.HasPrefix(s.Left, "Time left") || !strings.Contains(s.Status, "Your registration opens at "+opens.In(seoul).Format("15:04:05")+" KST") {
		t.Errorf("before the opening the header says %q / %q", s.Status, s.Left)
	}
	if s.Register == 0 || s.Enabled != 0 || s.Quick {
		t.Errorf("before the opening %d of %d Register buttons are enabled, quick registration %v; want all held", s.Enabled, s.Register, s.Quick)
	}
	b.screenshot("countdown-waiting.png")

	// Zero by the server's clock: ready, without a reload or a click.
	s = b.waitClock("the page to turn ready at the opening", func(s clockState) bool { return s.State == "open" })
	seen := clock.Now()
	if s.OpenedAt < opens.UnixMilli() {
		t.Errorf("the page turned ready at %d by its server clock, before the opening %d", s.OpenedAt, opens.UnixMilli())
	}
	if early := opens.Sub(seen); early > time.Second {
		t.Errorf("the page was ready %v before the opening by the server's clock: its offset is wrong", early)
	}
	if s.Status != "Registration is open now." || s.Left != "" || s.Enabled != s.Register || !s.Quick {
		t.Errorf("after the opening: %+v, want the status open now, no countdown, every button enabled", s)
	}
	b.noReload("the opening")
	b.screenshot("countdown-open.png")

	// The server agrees: the window is open by the same clock.
	const label = "MATH150-01"
	b.click("register for "+label, f.button(t, label, "register"))
	p := b.waitPage("the answer in the row of "+label, func(p pageState) bool { return p.Rows[label].Result != "" })
	if r := p.Rows[label]; r.Result != "Registered for "+label+"." || r.Refused {
		t.Errorf("row result = %q (refused %v), want %q", r.Result, r.Refused, "Registered for "+label+".")
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ?", f.Sections[label]); n != 1 {
		t.Errorf("%s has %d enrollments, want alice's", label, n)
	}
	b.checkConsole()
}

// quickState is the quick registration's answer as the page shows it.
type quickState struct {
	Lines   []quickLineState `json:"lines"`
	Focused bool             `json:"focused"` // focus is on the answer
	Idle    bool             `json:"idle"`
	Credits string           `json:"credits"`
	Marker  int              `json:"marker"`
}

type quickLineState struct {
	Code    string `json:"code"`
	Result  string `json:"result"`
	Text    string `json:"text"`
	Refused bool   `json:"refused"`
	Offer   bool   `json:"offer"` // a Join waitlist button
}

const quickStateJS = `(() => ({
	lines: Array.from(document.querySelectorAll('[data-testid="quick-result"]'), li => ({
		code: li.dataset.code, result: li.dataset.result, text: li.innerText.replace(/\s+/g, " ").trim(),
		refused: li.classList.contains("refused"), offer: li.querySelector('[data-testid="quick-waitlist"]') !== null,
	})),
	focused: document.activeElement !== null && document.activeElement.closest('[data-testid="quick-results"]') !== null,
	idle: document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null,
	credits: (document.querySelector("header #credits")?.textContent ?? "").trim(),
	marker: window.__noReload || 0,
}))()`

func (b *browser) waitQuick(what string, ok func(quickState) bool) quickState {
	b.t.Helper()
	var last quickState
	b.poll(what, func() bool {
		s, err := chromedp.Run(b.ctx, chromedp.Evaluate[quickState](quickStateJS))
		if err != nil {
			return false
		}
		last = s
		return s.Idle && ok(s)
	}, func() string { return fmt.Sprintf("\nlast seen: %+v", last) })
	return last
}

// TestBrowserQuickRegistration: on the catalog, alice types four codes and presses
// Enter; the answer lists each code with the message a click gives, in place; the full
// section's line offers its waitlist, which one click joins; the database agrees, and
// axe finds nothing serious in the answer.
func TestBrowserQuickRegistration(t *testing.T) {
	requireBrowser(t)
	script, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(app.URL + "/courses")
	b.waitPage("every section", func(s pageState) bool { return len(s.Sections) == 6 })
	b.mark()

	b.do("type four codes and press Enter",
		chromedp.SendKeys(chromedp.CSS(`[data-testid="quick-codes"]`), "cs101-01, MATH101-01 CS999-01  MATH150-01"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid="quick-codes"]`), "\r"))
	s := b.waitQuick("a line per code", func(s quickState) bool { return len(s.Lines) == 4 })
	b.noReload("quick registration")
	want := []quickLineState{
		{"CS101-01", "enrolled", "Registered for CS101-01.", false, false},
		{"MATH101-01", "full", "MATH101-01 is full. Join the waitlist to get the next free seat. Join waitlist", true, true},
		{"CS999-01", "unknown", "There is no section CS999-01 this term. Check the course code and the section number.", true, false},
		{"MATH150-01", "enrolled", "Registered for MATH150-01.", false, false},
	}
	if !slices.Equal(s.Lines, want) {
		t.Errorf("answer lines:\n got %+v\nwant %+v", s.Lines, want)
	}
	if !s.Focused {
		t.Errorf("focus is not on the answer after sending the codes")
	}
	if countIn(t, s.Credits) != 5 {
		t.Errorf("header credits %q after registering CS101-01 and MATH150-01, want 5", s.Credits)
	}
	if got := alicesSections(t, app); !slices.Equal(got, []string{"CS101-01", "MATH150-01"}) {
		t.Errorf("alice holds %v, want CS101-01 and MATH150-01", got)
	}
	for _, v := range b.axe(string(script)) {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("the quick registration answer: %s (%s) on %d elements: %v", v.ID, v.Impact, v.Nodes, v.Targets)
		}
	}
	b.screenshot("quick-registration.png")

	// The offer joins the waitlist, the answer's message in the button's stead.
	b.click("join the waitlist of MATH101-01", `[data-code="MATH101-01"] [data-testid="quick-waitlist"]`)
	s = b.waitQuick("the waitlist answer in MATH101-01's line", func(s quickState) bool {
		return len(s.Lines) == 4 && !s.Lines[1].Offer
	})
	if got := s.Lines[1].Text; !strings.Contains(got, "You are number 1 on the waitlist for MATH101-01.") {
		t.Errorf("MATH101-01's line after joining the waitlist: %q", got)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM waitlist_entries WHERE section_id = ? AND status = 'waiting'", f.Sections["MATH101-01"]); n != 1 {
		t.Errorf("MATH101-01 has %d waiting, want alice", n)
	}
	b.noReload("joining the waitlist from the quick answer")
	b.checkConsole()
}

// TestBrowserPreviewTimetable: from the basket, the preview timetable draws the
// registered section and the basket's on one grid; basket cells look different and say
// so, both sides of the time conflict are outlined and named, in both languages, and
// axe finds nothing serious.
func TestBrowserPreviewTimetable(t *testing.T) {
	requireBrowser(t)
	script, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatal(err)
	}
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	// CS201-01 meets at MATH150-01's time too.
	if _, err := app.DB.Exec(`INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute)
		SELECT ?, weekday, start_minute + 30, end_minute + 30 FROM section_meetings WHERE section_id = ?`,
		f.Sections["CS201-01"], f.Sections["MATH150-01"]); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	if res, _ := app.post(t, c, "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH150-01"])}}); res.Header.Get("X-Registration-Result") != "enrolled" {
		t.Fatalf("register MATH150-01: %q", res.Header.Get("X-Registration-Result"))
	}
	for _, label := range []string{"CS201-01", "MATH101-02"} {
		app.post(t, c, "/basket", url.Values{"section_id": {itoa(f.Sections[label])}})
	}

	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(app.URL + "/basket")
	b.click("open the preview timetable from the basket", `[data-testid="preview-link"]`)
	b.waitFor("the preview timetable", `location.pathname === "/timetable/preview" && document.querySelector('table.timetable') !== null`)

	type cellState struct {
		ID       int64  `json:"id"`
		Basket   bool   `json:"basket"`
		Conflict bool   `json:"conflict"`
		Text     string `json:"text"`    // as screen readers get it
		Visible  string `json:"visible"` // as the screen shows it
		Fill     string `json:"fill"`    // computed background
		Outline  string `json:"outline"` // computed outline style
	}
	const cellsJS = `Array.from(document.querySelectorAll('table.timetable td[data-testid="meeting"]'), td => {
		const st = getComputedStyle(td);
		return {id: Number(td.dataset.sectionId), basket: td.classList.contains("basket"), conflict: td.classList.contains("conflict"),
			text: td.textContent.replace(/\s+/g, " ").trim(), visible: td.innerText.replace(/\s+/g, " ").trim(),
			fill: st.backgroundColor + " " + st.backgroundImage, outline: st.outlineStyle + " " + st.outlineWidth};
	})`
	for _, lang := range []string{"en", "ko"} {
		if lang == "ko" {
			b.switchLanguage("ko")
		}
		cells, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]cellState](cellsJS))
		if err != nil {
			t.Fatal(err)
		}
		by := map[int64][]cellState{}
		for _, x := range cells {
			by[x.ID] = append(by[x.ID], x)
		}
		reg, cs201, math101 := by[f.Sections["MATH150-01"]], by[f.Sections["CS201-01"]], by[f.Sections["MATH101-02"]]
		if len(reg) != 1 || len(cs201) != 2 || len(math101) != 1 {
			t.Fatalf("%s: meeting cells %+v", lang, cells)
		}
		words := map[string][3]string{
			"en": {"Basket", "Time conflict with CS201-01", "Time conflict with MATH150-01"},
			"ko": {"장바구니", "CS201-01 분반과 시간 충돌", "MATH150-01 분반과 시간 충돌"},
		}[lang]
		if reg[0].Basket || strings.Contains(reg[0].Visible, words[0]) {
			t.Errorf("%s: the registered section's cell reads as a basket one: %+v", lang, reg[0])
		}
		for _, x := range append(slices.Clone(cs201), math101...) {
			if !x.Basket || !strings.Contains(x.Visible, words[0]) || x.Fill == reg[0].Fill {
				t.Errorf("%s: basket cell %+v is not told apart from the registered one (%q)", lang, x, reg[0].Fill)
			}
		}
		conflict := slices.IndexFunc(cs201, func(x cellState) bool { return x.Conflict })
		if !reg[0].Conflict || conflict < 0 {
			t.Fatalf("%s: the conflict is not marked on both sides: %+v / %+v", lang, reg[0], cs201)
		}
		if !strings.Contains(reg[0].Text, words[1]) || !strings.Contains(cs201[conflict].Text, words[2]) {
			t.Errorf("%s: the conflict is not explained to screen readers: %q / %q", lang, reg[0].Text, cs201[conflict].Text)
		}
		if strings.HasPrefix(reg[0].Outline, "none") || reg[0].Outline == cs201[1-conflict].Outline {
			t.Errorf("%s: the conflicting cell's outline %q is not drawn (the other's %q)", lang, reg[0].Outline, cs201[1-conflict].Outline)
		}
		if math101[0].Conflict {
			t.Errorf("%s: MATH101-02 is marked as a conflict", lang)
		}
		for _, v := range b.axe(string(script)) {
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s preview timetable: %s (%s) on %d elements: %v", lang, v.ID, v.Impact, v.Nodes, v.Targets)
			}
		}
		b.screenshot("preview-timetable-" + lang + ".png")
	}
	b.checkConsole()
}

// waitForServerClock waits until u's catalog page shows the server clock in its header.
func waitForServerClock(t *testing.T, app *testApp, u ldaptest.User) {
	t.Helper()
	c := app.client(t)
	app.login(t, c, u)
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, body := app.get(t, c, "/courses"); strings.Contains(body, `data-testid="server-clock"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the catalog page never showed the server clock")
		}
	}
}
