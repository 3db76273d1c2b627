package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The student home page: this term's timetable, the registration windows still to come
// or open, upcoming events with their seats, and the latest notices.
func TestHomePage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	// A window for another year and one that has closed are not alice's (year 2).
	now := time.Now().UTC()
	for _, w := range []struct {
		year          any
		opens, closes time.Time
	}{
		{3, now.Add(time.Hour), now.Add(2 * time.Hour)},
		{nil, now.Add(-3 * time.Hour), now.Add(-2 * time.Hour)},
		{2, now.Add(48 * time.Hour), now.Add(72 * time.Hour)},
	} {
		if _, err := app.DB.Exec("INSERT INTO registration_windows (term_id, class_year, phase, opens_at, closes_at) VALUES (?, ?, 'add_drop', ?, ?)",
			f.TermID, w.year, w.opens, w.closes); err != nil {
			t.Fatal(err)
		}
	}
	catalogChanged(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	if res, body := app.post(t, c, "/registrations", url.Values{"section_id": {itoa(f.Sections["CS101-01"])}}); res.StatusCode != http.StatusOK {
		t.Fatalf("register: %d\n%s", res.StatusCode, body)
	}
	staff := app.client(t)
	app.login(t, staff, sam)
	app.createEvent(t, staff, eventForm("Spring concert", 2, 5, "A1"))

	res, body := app.get(t, c, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("home: %d", res.StatusCode)
	}
	d := doc(t, body)
	if got := strings.Fields(d.Find(`[data-testid="home-section"]`).Text()); len(got) < 2 || got[0] != "CS101" {
		t.Errorf("timetable summary %q, want CS101", got)
	}
	if n := d.Find(`[data-testid="home-window"]`).Length(); n != 2 {
		t.Errorf("%d registration windows on the home page, want 2 (open now, and year 2's add/drop)", n)
	}
	if got := testid(t, body, "home-window"); !strings.Contains(got, "Open now") || !strings.Contains(got, "Add/drop") {
		t.Errorf("windows %q", got)
	}
	if got := testid(t, body, "home-event-seats"); got != "9 seats left" {
		t.Errorf("event seats %q, want 9 seats left", got)
	}
	// Staff have no timetable or windows, but see events and notices.
	_, body = app.get(t, staff, "/")
	if testid(t, body, "home-timetable") != "" || testid(t, body, "home-events") == "" || testid(t, body, "home-notices") == "" {
		t.Errorf("staff home page: timetable %q, events %q, notices %q", testid(t, body, "home-timetable"),
			testid(t, body, "home-events"), testid(t, body, "home-notices"))
	}
}
