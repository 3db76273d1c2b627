package web_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestClockEndpoint: /clock answers the app's clock in Unix milliseconds, to anyone,
// never from a cache, without a session (nothing written, no cookie).
func TestClockEndpoint(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2027, 3, 2, 9, 59, 50, 123_000_000, seoul)}
	app := newTestApp(t, insecureCookies, withClock(clk))
	sessions := func() int { return app.count(t, "SELECT COUNT(*) FROM sessions") }
	before := sessions()
	res, body := app.get(t, app.client(t), "/clock")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("/clock: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	var got struct{ Now int64 }
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("/clock answered %q: %v", body, err)
	}
	if got.Now != clk.now().UnixMilli() {
		t.Errorf("/clock says %d, want the app's clock %d", got.Now, clk.now().UnixMilli())
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store: a cached time is a wrong time", cc)
	}
	if len(res.Cookies()) != 0 || sessions() != before {
		t.Errorf("/clock set cookies %v or wrote a session (%d before, %d after)", res.Cookies(), before, sessions())
	}
}

// TestServerClockInHeader: a student's pages carry the server clock on a day one of
// their windows opens, is open or closes, with the static opening time for pages
// without JavaScript; not on other days, not for another year's window, not for staff.
func TestServerClockInHeader(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Date(2027, 3, 2, 9, 59, 50, 0, seoul)}
	app := newTestApp(t, insecureCookies, withClock(clk))
	seedCatalog(t, app.DB)
	stu := app.client(t)
	app.login(t, stu, alice)
	staff := app.client(t)
	app.login(t, staff, sam)
	at := func(h, m int) time.Time { return time.Date(2027, 3, 2, h, m, 0, 0, seoul) }
	window := func(classYear any, phase string, opens, closes time.Time) {
		t.Helper()
		if _, err := app.DB.Exec("UPDATE registration_windows SET class_year = ?, phase = ?, opens_at = ?, closes_at = ?",
			classYear, phase, opens.UTC(), closes.UTC()); err != nil {
			t.Fatal(err)
		}
		catalogChanged(t, app.DB)
	}
	cases := []struct {
		name          string
		classYear     any
		phase         string
		opens, closes time.Time
		lang          string
		state         string // "" for no clock
		status        string
	}{
		{"opens in ten seconds", nil, "registration", at(10, 0), at(18, 0), "en", "waiting", "Your registration opens at 10:00:00 KST."},
		{"in Korean", nil, "registration", at(10, 0), at(18, 0), "ko", "waiting", "수강신청 시작: 10:00:00 KST"},
		{"alice's year's window", 2, "add_drop", at(10, 0), at(18, 0), "en", "waiting", "Your registration opens at 10:00:00 KST."},
		{"open now", nil, "registration", at(9, 0), at(18, 0), "en", "open", "Registration open until 2027-03-02 18:00 KST"},
		{"open since yesterday", nil, "registration", at(9, 0).AddDate(0, 0, -1), at(12, 0), "ko", "open", "2027-03-02 12:00 KST까지 신청 가능"},
		{"closed earlier today", nil, "registration", at(8, 0), at(9, 0), "en", "day", "Your registration period for today has ended."},
		{"tomorrow", nil, "registration", at(10, 0).AddDate(0, 0, 1), at(18, 0).AddDate(0, 0, 1), "en", "", ""},
		// Each case without a clock follows one with: waiting for "no clock" must not pass
		// against a catalog that still holds the case before.
		{"open again", nil, "registration", at(9, 0), at(18, 0), "en", "open", "Registration open until 2027-03-02 18:00 KST"},
		{"another year's window", 3, "registration", at(10, 0), at(18, 0), "en", "", ""},
		{"open once more", nil, "registration", at(9, 0), at(18, 0), "en", "open", "Registration open until 2027-03-02 18:00 KST"},
		{"the basket phase", nil, "basket", at(10, 0), at(18, 0), "en", "", ""},
	}
	for _, c := range cases {
		window(c.classYear, c.phase, c.opens, c.closes)
		for _, path := range []string{"/", "/courses"} {
			eventually(t, c.name+": the page's clock", func() bool {
				_, body := app.get(t, stu, path, "Accept-Language", c.lang)
				el := doc(t, body).Find(`[data-testid="server-clock"]`)
				return el.AttrOr("data-state", "") == c.state && testid(t, body, "clock-status") == c.status
			})
		}
		_, body := app.get(t, stu, "/courses", "Accept-Language", c.lang)
		el := doc(t, body).Find(`[data-testid="server-clock"]`)
		if c.state == "" {
			if el.Length() != 0 {
				t.Errorf("%s: the header has a server clock", c.name)
			}
			continue
		}
		if got := el.AttrOr("data-now", ""); got != strconv.FormatInt(clk.now().UnixMilli(), 10) {
			t.Errorf("%s: data-now %q, want the app's clock", c.name, got)
		}
		opensAt, hasOpens := el.Attr("data-opens-at")
		if hasOpens != (c.state == "waiting") || hasOpens && opensAt != strconv.FormatInt(c.opens.UnixMilli(), 10) {
			t.Errorf("%s: data-opens-at %q (%v), want the opening %d only while waiting", c.name, opensAt, hasOpens, c.opens.UnixMilli())
		}
		if el.AttrOr("data-zone-offset", "") != "32400" || el.AttrOr("data-zone-abbr", "") != "KST" {
			t.Errorf("%s: zone %q %q, want KST, +9 h", c.name, el.AttrOr("data-zone-offset", ""), el.AttrOr("data-zone-abbr", ""))
		}
		label := map[string]string{"en": "Server time", "ko": "서버 시간"}[c.lang]
		if got := el.Find("[data-clock-now]").Text(); !containsAll(got, label, "09:59:50 KST") {
			t.Errorf("%s: the clock reads %q", c.name, got)
		}
		if _, body := app.get(t, staff, "/courses"); doc(t, body).Find(`[data-testid="server-clock"]`).Length() != 0 {
			t.Errorf("%s: staff's header has a server clock", c.name)
		}
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}
