package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/schoolservice/school/web"
)

// quickLine is one code's line of a quick registration answer.
type quickLine struct {
	code, result, text string
	refused, waitlist  bool
}

func quickLines(t *testing.T, body string) []quickLine {
	t.Helper()
	var out []quickLine
	doc(t, body).Find(`[data-testid="quick-result"]`).Each(func(_ int, li *goquerySelection) {
		out = append(out, quickLine{code: li.AttrOr("data-code", ""), result: li.AttrOr("data-result", ""),
			text: strings.TrimSpace(li.Clone().Children().Remove().End().Text()), refused: li.HasClass("refused"),
			waitlist: li.Find(`form[action="/waitlist"] [data-testid="quick-waitlist"]`).Length() == 1})
	})
	return out
}

// alicesSections is what the database says alice holds, as labels.
func alicesSections(t *testing.T, app *testApp) []string {
	t.Helper()
	rows, err := app.DB.Query(`SELECT CONCAT(c.code, '-', s.number) FROM enrollments e JOIN users u ON u.id = e.user_id
		JOIN sections s ON s.id = e.section_id JOIN courses c ON c.id = s.course_id WHERE u.username = 'alice' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out
}

// TestQuickRegistration: several codes, mixed results, one line per code in the order
// typed with the message a click gives, a waitlist offer on the full one; the database
// agrees; the same form sent again registers nothing twice.
func TestQuickRegistration(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)

	// The catalog offers the field, with a request key.
	_, page := app.get(t, c, "/courses")
	form := doc(t, page).Find(`form[data-testid="quick-form"]`)
	key := form.Find(`input[name="request_key"]`).AttrOr("value", "")
	if form.AttrOr("action", "") != "/registrations/quick" || form.AttrOr("method", "") != "post" || key == "" ||
		form.Find(`textarea[name="codes"]`).Length() != 1 {
		t.Fatalf("the catalog's quick registration form: %q, key %q", form.Text(), key)
	}

	codes := "cs101-01, MATH101-01\nMATH150-01 CS999-01 nonsense CS101-01;CS201-01 CS101-02"
	sent := url.Values{"codes": {codes}, "request_key": {key}}
	res, body := app.post(t, c, "/registrations/quick", sent, hx, "true")
	if res.StatusCode != http.StatusOK || strings.Contains(body, "<html") {
		t.Fatalf("quick registration over HTMX: %d\n%s", res.StatusCode, body)
	}
	want := []quickLine{
		{"CS101-01", "enrolled", "Registered for CS101-01.", false, false},
		{"MATH101-01", "full", "MATH101-01 is full. Join the waitlist to get the next free seat.", true, true},
		{"MATH150-01", "enrolled", "Registered for MATH150-01.", false, false},
		{"CS999-01", "unknown", "There is no section CS999-01 this term. Check the course code and the section number.", true, false},
		{"nonsense", "bad_code", `"nonsense" is not a section code: type the course code, a hyphen and the section number, such as CS101-01.`, true, false},
		{"CS101-01", "repeated", "CS101-01 is typed more than once; it was sent once.", false, false},
		{"CS201-01", "prerequisite", "CS201-01 needs CS101 first.", true, false},
		{"CS101-02", "duplicate", "You already have CS101-01 in this course.", true, false},
	}
	if got := quickLines(t, body); !slices.Equal(got, want) {
		t.Errorf("answer lines:\n got %+v\nwant %+v", got, want)
	}
	if got := alicesSections(t, app); !slices.Equal(got, []string{"CS101-01", "MATH150-01"}) {
		t.Errorf("alice holds %v, want CS101-01 and MATH150-01", got)
	}
	d := doc(t, body)
	next := d.Find(`#quick-key[hx-swap-oob]`).AttrOr("value", "")
	if next == "" || next == key {
		t.Errorf("the answer's new request key = %q (sent %q): the next submission must be a new request", next, key)
	}
	if got := d.Find(`#credits[hx-swap-oob]`).Text(); !strings.Contains(got, "5") {
		t.Errorf("header credits in the answer = %q, want 5 (CS101 3 + MATH150 2)", got)
	}

	// The same form again (a double submit, a retry): each code is answered as before,
	// nothing is applied twice.
	_, again := app.post(t, c, "/registrations/quick", sent, hx, "true")
	if got := quickLines(t, again); len(got) != len(want) || got[0] != want[0] || got[2] != want[2] {
		t.Errorf("the same form sent again: %+v, want the first answers", got)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments"); n != 2 {
		t.Errorf("%d enrollments after the form was sent twice, want 2", n)
	}
	// A new submission with the answer's key: a section alice holds is answered as a
	// click on its row would be, and not taken twice.
	_, third := app.post(t, c, "/registrations/quick", url.Values{"codes": {"CS101-01"}, "request_key": {next}}, hx, "true")
	if got := quickLines(t, third); len(got) != 1 || got[0].result != "enrolled" || got[0].text != "Registered for CS101-01." {
		t.Errorf("registering CS101-01 again: %+v, want its enrolled answer", got)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments"); n != 2 {
		t.Errorf("%d enrollments after CS101-01 was sent again, want 2", n)
	}

	// The full section's offer is the row's own waitlist request.
	offer := d.Find(`[data-code="MATH101-01"] form[action="/waitlist"]`)
	wl := url.Values{"section_id": {offer.Find(`[name="section_id"]`).AttrOr("value", "")}, "request_key": {offer.Find(`[name="request_key"]`).AttrOr("value", "")}}
	if wl.Get("section_id") != itoa(f.Sections["MATH101-01"]) || wl.Get("request_key") == "" {
		t.Fatalf("the waitlist offer posts %v", wl)
	}
	if status, result, _ := app.regPost(t, c, "/waitlist", wl); status != http.StatusOK || result != "waitlisted" {
		t.Errorf("the offered waitlist: %d %q, want 200 waitlisted", status, result)
	}

	// Without JavaScript the answer is a page, with the form again and what was typed.
	res, body = app.post(t, c, "/registrations/quick", url.Values{"codes": {"CS101-02"}, "request_key": {"plain-form"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "<html") {
		t.Fatalf("the plain form's answer: %d", res.StatusCode)
	}
	if got := quickLines(t, body); len(got) != 1 || got[0].text != "You already have CS101-01 in this course." {
		t.Errorf("the plain form's answer: %+v", got)
	}
	if got := doc(t, body).Find(`textarea[name="codes"]`).Text(); got != "CS101-02" {
		t.Errorf("the page answer's field holds %q, want what was typed", got)
	}
}

// TestQuickRegistrationValidation: a field that names nothing to send is refused as a
// whole, with its message in either language, and nothing is registered.
func TestQuickRegistrationValidation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	cases := []struct {
		name, codes, key, lang, want string
	}{
		{"empty", "", "k1", "en", "Type at least one section code, such as CS101-01."},
		{"blank", " ,\n", "k2", "en", "Type at least one section code, such as CS101-01."},
		{"empty, in Korean", "", "k3", "ko", "분반 코드를 하나 이상 입력하세요 (예: CS101-01)."},
		{"too many", strings.Repeat("CS101-01 ", 11), "k4", "en", "Type at most 10 section codes at once."},
		{"too many, in Korean", strings.Repeat("CS101-01 ", 11), "k5", "ko", "한 번에 최대 10개까지 입력할 수 있습니다."},
		{"too long", strings.Repeat("C", 401), "k6", "en", "The list is longer than 400 characters. Register fewer sections at once."},
		{"a key longer than a request key", "CS101-01", strings.Repeat("k", 44), "en", "This page is out of date. Reload it and try again."},
	}
	for _, tc := range cases {
		res, body := app.post(t, c, "/registrations/quick", url.Values{"codes": {tc.codes}, "request_key": {tc.key}}, hx, "true", "Accept-Language", tc.lang)
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("X-Registration-Result") != "invalid" {
			t.Errorf("%s: status %d %q, want 400 invalid", tc.name, res.StatusCode, res.Header.Get("X-Registration-Result"))
		}
		if got := testid(t, body, "quick-error"); got != tc.want {
			t.Errorf("%s: message %q, want %q", tc.name, got, tc.want)
		}
		if doc(t, body).Find(`#quick-key[hx-swap-oob]`).AttrOr("value", "") == "" {
			t.Errorf("%s: the answer does not renew the form's key", tc.name)
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments"); n != 0 {
		t.Errorf("%d enrollments after refused forms, want 0", n)
	}
	// Korean answers per code too.
	_, body := app.post(t, c, "/registrations/quick", url.Values{"codes": {"CS999-01 MATH150-01"}}, hx, "true", "Accept-Language", "ko")
	if got := quickLines(t, body); len(got) != 2 || got[0].text != "이번 학기에 CS999-01 분반이 없습니다. 과목번호와 분반 번호를 확인하세요." || got[1].text != "MATH150-01 신청 완료." {
		t.Errorf("Korean answer lines: %+v", got)
	}
}

// TestQuickRegistrationGates: the waiting room, the window, the role, the origin: each
// turns quick registration away exactly as it does a click.
func TestQuickRegistrationGates(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	form := url.Values{"codes": {"MATH150-01"}, "request_key": {"gated"}}

	// Another site's form: refused before anything reads it.
	req, err := http.NewRequest(http.MethodPost, app.URL+"/registrations/quick", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if res, _ := app.do(t, c, req); res.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site quick registration: %d, want 403", res.StatusCode)
	}

	// Staff have nothing to register.
	staff := app.client(t)
	app.login(t, staff, sam)
	if res, _ := app.post(t, staff, "/registrations/quick", form, hx, "true"); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff's quick registration: %d, want 403", res.StatusCode)
	}

	// The window closed: each code is told, as a click is.
	if _, err := app.DB.Exec("UPDATE registration_windows SET closes_at = opens_at + INTERVAL 1 SECOND"); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	_, body := app.post(t, c, "/registrations/quick", url.Values{"codes": {"MATH150-01 CS101-01"}}, hx, "true")
	if got := quickLines(t, body); len(got) != 2 || got[0].result != "window_closed" || got[1].text != "Registration is not open for you right now. Check your registration period." {
		t.Errorf("with the window closed: %+v", got)
	}

	// The waiting room: without a pass, sent to the queue like a click, nothing
	// registered, and the click kept for after admission.
	if _, err := app.DB.Exec("UPDATE registration_windows SET closes_at = opens_at + INTERVAL 2 DAY"); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	queueWindow(t, app, ", paused = TRUE")
	// (The probe names no real section, so nothing is registered before the room knows
	// the window.)
	eventually(t, "the waiting room to gate quick registration", func() bool {
		res, _ := app.post(t, c, "/registrations/quick", url.Values{"codes": {"CS999-01"}}, hx, "true")
		return res.StatusCode == http.StatusForbidden && res.Header.Get("X-Registration-Result") == "queued"
	})
	res, _ := app.post(t, c, "/registrations/quick", form, hx, "true", "HX-Current-URL", app.URL+"/courses")
	if res.StatusCode != http.StatusForbidden || res.Header.Get("X-Registration-Result") != "queued" || res.Header.Get("HX-Redirect") != "/queue" {
		t.Errorf("quick registration without a pass: %d %q to %q, want 403 queued to /queue", res.StatusCode,
			res.Header.Get("X-Registration-Result"), res.Header.Get("HX-Redirect"))
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ?", f.Sections["MATH150-01"]); n != 0 {
		t.Errorf("MATH150-01 has %d enrollments after the gate turned quick registration away", n)
	}
	app.post(t, c, "/queue", nil)
	if _, page := app.get(t, c, "/queue"); testid(t, page, "intent-kept") == "" {
		t.Errorf("the waiting page does not say the quick registration was kept")
	}
	// Admitted, alice is back on the catalog with her codes in the field, and they go
	// through with the pass.
	if _, err := app.DB.Exec("UPDATE registration_windows SET paused = FALSE, admit_per_second = 50, max_active = 10"); err != nil {
		t.Fatal(err)
	}
	var token string
	eventually(t, "admission", func() bool {
		_, body := app.get(t, c, "/queue")
		token = doc(t, body).Find(`[data-testid="queue-enter"] input[name="t"]`).AttrOr("value", "")
		return token != ""
	})
	res, _ = app.post(t, c, "/queue/enter", url.Values{"t": {token}})
	if want := "/courses?codes=MATH150-01"; res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
		t.Fatalf("enter: %d to %q, want %s", res.StatusCode, res.Header.Get("Location"), want)
	}
	_, page := app.get(t, c, "/courses?codes=MATH150-01")
	if got := doc(t, page).Find(`textarea[name="codes"]`).Text(); got != "MATH150-01" {
		t.Errorf("after admission the field holds %q, want the codes kept", got)
	}
	if got := testid(t, page, "intent-banner"); !strings.Contains(got, "quick registration field") {
		t.Errorf("after admission the banner says %q", got)
	}
	_, body = app.post(t, c, "/registrations/quick", form, hx, "true")
	if got := quickLines(t, body); len(got) != 1 || got[0].result != "enrolled" {
		t.Errorf("quick registration with the pass: %+v", got)
	}
}

// TestQuickRegistrationRateLimit: each section a quick registration tries takes a token
// of the student's request limit, as its click would; past the limit a code's line says it
// was not sent, and nothing of it is registered. Codes that name no section take none.
func TestQuickRegistrationRateLimit(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.RequestLimit = web.RequestLimit{Burst: 3, PerSecond: 0.001} })
	seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	codes := "CS101-01 MATH101-01 MATH150-01 CS999-01 CS201-01 CS101-02"
	_, body := app.post(t, c, "/registrations/quick", url.Values{"codes": {codes}, "request_key": {"limited"}}, hx, "true")
	var got []string
	for _, l := range quickLines(t, body) {
		got = append(got, l.code+" "+l.result)
	}
	want := []string{"CS101-01 enrolled", "MATH101-01 full", "MATH150-01 enrolled", "CS999-01 unknown", "CS201-01 rate_limited", "CS101-02 rate_limited"}
	if !slices.Equal(got, want) {
		t.Errorf("with 3 requests allowed:\n got %v\nwant %v", got, want)
	}
	if lines := quickLines(t, body); len(lines) == len(want) && lines[4].text != "CS201-01 was not sent: that is more sections at once than anyone clicks. Wait a second and send it again." {
		t.Errorf("the rate-limited line says %q", lines[4].text)
	}
	if got := alicesSections(t, app); !slices.Equal(got, []string{"CS101-01", "MATH150-01"}) {
		t.Errorf("alice holds %v, want CS101-01 and MATH150-01", got)
	}
}
