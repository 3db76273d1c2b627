package web_test

import (
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// printView is what the 수강신청 확인서 shows, and which of its parts are displayed.
type printView struct {
	Lang, Heading, Term, Name, Number, Total, PrintedAt string
	Rows                                                []struct {
		Code, Title, Other, OtherLang, Credits, Cells string
	}
	Shown map[string]bool // selector → displayed
}

const printViewJS = `(() => {
	const text = sel => (document.querySelector(sel)?.textContent ?? "").trim().replace(/\s+/g, " ");
	const shown = sel => { const e = document.querySelector(sel); return !!e && getComputedStyle(e).display !== "none" && e.getClientRects().length > 0; };
	return {
		lang: document.documentElement.lang,
		heading: text('[data-testid="print-heading"]'),
		term: text('[data-testid="print-term"]'),
		name: text('[data-testid="print-student-name"]'),
		number: text('[data-testid="print-student-number"]'),
		total: text('[data-testid="print-total-credits"]'),
		printedAt: text('[data-testid="print-printed-at"]'),
		rows: Array.from(document.querySelectorAll('[data-testid="print-row"]'), r => ({
			code: r.querySelector("td.code").textContent.trim(),
			title: r.querySelector('[data-testid="print-title"]').textContent.trim(),
			other: (r.querySelector('[data-testid="print-title-other"]')?.textContent ?? "").trim(),
			otherLang: r.querySelector('[data-testid="print-title-other"]')?.lang ?? "",
			credits: r.querySelector("td.num").textContent.trim(),
			cells: r.textContent.trim().replace(/\s+/g, " "),
		})),
		shown: Object.fromEntries(["body > header", "nav", "footer", ".skip-link", '[data-testid="print-hint"]', '[data-testid="print-table"]', '[data-testid="print-student"]'].map(s => [s, shown(s)])),
	};
})()`

func (b *browser) printView() printView {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[printView](printViewJS))
	if err != nil {
		b.t.Fatalf("read the print view: %v%s", err, b.diagnostics())
	}
	return v
}

// TestBrowserRegistrationPrint: from her registrations page a student opens the
// 수강신청 확인서. It lists her registered sections (not her waitlist) with codes, both
// names, credits, meetings and instructors, the total, who she is and when it was
// printed, in English and in Korean; printed (print media emulated through the DevTools
// protocol) the site's navigation, header, footer and the hint are hidden and the table
// stays; and the PDF chromium prints is A4, as the page's @page rule asks.
func TestBrowserRegistrationPrint(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	f := seedCatalog(t, app.DB)
	courseDetails(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	// CS201 needs CS101, which alice completed last term.
	if _, err := app.DB.Exec("INSERT INTO completed_courses (user_id, course_id, term_code, grade) SELECT u.id, c.id, '2026-2', 'A' FROM users u, courses c WHERE u.username = 'alice' AND c.code = 'CS101'"); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"CS201-01", "MATH101-02"} {
		if res, _ := app.post(t, c, "/registrations", url.Values{"section_id": {itoa(f.Sections[label])}}); res.Header.Get("X-Registration-Result") != "enrolled" {
			t.Fatalf("register %s: %q", label, res.Header.Get("X-Registration-Result"))
		}
	}
	if res, _ := app.post(t, c, "/waitlist", url.Values{"section_id": {itoa(f.Sections["CS101-02"])}}); res.Header.Get("X-Registration-Result") != "waitlisted" {
		t.Fatalf("waitlist CS101-02: %q", res.Header.Get("X-Registration-Result"))
	}

	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(app.URL + "/registrations")
	b.click("open the print view", `[data-testid="print-link"]`)
	b.waitFor("the print view", `location.pathname === "/registrations/print" && document.readyState === "complete"`)

	v := b.printView()
	if v.Lang != "en" || v.Heading != "Course registration confirmation" || !strings.Contains(v.Term, "Spring 2027") || !strings.Contains(v.Term, "2027학년도 1학기") {
		t.Errorf("English print view: lang %q, heading %q, term %q", v.Lang, v.Heading, v.Term)
	}
	if v.Name != "Alice Kim" || v.Number != "202600001" {
		t.Errorf("student on the print view: %q %q", v.Name, v.Number)
	}
	var codes []string
	for _, r := range v.Rows {
		codes = append(codes, r.Code)
	}
	if !slices.Equal(codes, []string{"CS201-01", "MATH101-02"}) {
		t.Fatalf("printed sections %v, want CS201-01 and MATH101-02 (not the waitlisted CS101-02)", codes)
	}
	if r := v.Rows[0]; r.Title != "Data Structures" || r.Other != "자료구조" || r.OtherLang != "ko" ||
		!strings.Contains(r.Cells, "Major elective") || !strings.Contains(r.Cells, "Prof. Edsger Dijkstra") || r.Credits != "3" {
		t.Errorf("CS201-01 printed as %+v", r)
	}
	if r := v.Rows[1]; r.Title != "Calculus I" || r.Other != "미적분학 I" || !strings.Contains(r.Cells, "Prof. Emmy Noether") {
		t.Errorf("MATH101-02 printed as %+v", r)
	}
	if !regexp.MustCompile(`(Mon|Tue|Wed|Thu|Fri) \d\d:\d\d–\d\d:\d\d`).MatchString(v.Rows[0].Cells) {
		t.Errorf("CS201-01's row lacks its meetings: %q", v.Rows[0].Cells)
	}
	if v.Total != "7" {
		t.Errorf("total credits %q, want 7 (3 + 4)", v.Total)
	}
	if !regexp.MustCompile(`^Printed \d{4}-\d\d-\d\d \d\d:\d\d [A-Z]+$`).MatchString(v.PrintedAt) {
		t.Errorf("printed at %q", v.PrintedAt)
	}
	for _, sel := range []string{"body > header", "nav", "footer", `[data-testid="print-hint"]`, `[data-testid="print-table"]`} {
		if !v.Shown[sel] {
			t.Errorf("%s is hidden on screen", sel)
		}
	}
	b.screenshot("registration-print.png")

	// Printed: the chrome goes, the confirmation stays.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	v = b.printView()
	for sel, want := range map[string]bool{"body > header": false, "nav": false, "footer": false, ".skip-link": false,
		`[data-testid="print-hint"]`: false, `[data-testid="print-table"]`: true, `[data-testid="print-student"]`: true} {
		if v.Shown[sel] != want {
			t.Errorf("in print media %s shown = %v, want %v", sel, v.Shown[sel], want)
		}
	}
	preferCSS := true
	pdf, err := chromedp.Call(b.ctx, page.PrintToPDF, page.PrintToPDFParams{PreferCSSPageSize: &preferCSS})
	if err != nil {
		t.Fatal(err)
	}
	// A4 is 595.28 × 841.89 points; chromium's default paper, Letter, is 612 × 792.
	// Chromium rounds the page to whole CSS pixels: within a point of A4.
	box := regexp.MustCompile(`/MediaBox \[0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)\]`).FindSubmatch(pdf.Data)
	if box == nil {
		t.Fatal("the printed PDF has no /MediaBox")
	}
	w, _ := strconv.ParseFloat(string(box[1]), 64)
	h, _ := strconv.ParseFloat(string(box[2]), 64)
	if math.Abs(w-595.28) > 1 || math.Abs(h-841.89) > 1 {
		t.Errorf("the printed PDF's page is %.2f × %.2f points, want A4 (595.28 × 841.89)", w, h)
	}
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
		t.Fatal(err)
	}

	// In Korean: Korean names first, the English beside them.
	b.switchLanguage("ko")
	v = b.printView()
	if v.Lang != "ko" || v.Heading != "수강신청 확인서" || !strings.HasPrefix(v.Term, "2027학년도 1학기") {
		t.Errorf("Korean print view: lang %q, heading %q, term %q", v.Lang, v.Heading, v.Term)
	}
	if r := v.Rows[0]; r.Title != "자료구조" || r.Other != "Data Structures" || r.OtherLang != "en" || !strings.Contains(r.Cells, "전공선택") {
		t.Errorf("CS201-01 printed in Korean as %+v", r)
	}
	if !strings.HasPrefix(v.PrintedAt, "출력 일시: ") {
		t.Errorf("Korean printed at %q", v.PrintedAt)
	}
	b.checkConsole()
}
