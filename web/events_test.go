package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// eventForm is a valid staff form for an event open for reservations now.
func eventForm(title string, rows, perRow int, blocked string) url.Values {
	now := time.Now()
	f := func(d time.Duration) string { return now.Add(d).In(seoul).Format("2006-01-02T15:04") }
	return url.Values{"title": {title}, "venue": {"Main hall"}, "description": {"Music."},
		"starts_at": {f(72 * time.Hour)}, "opens_at": {f(-time.Hour)}, "closes_at": {f(48 * time.Hour)},
		"rows": {fmt.Sprint(rows)}, "per_row": {fmt.Sprint(perRow)}, "blocked": {blocked}}
}

// createEvent creates an event through the staff form and returns its path.
func (a *testApp) createEvent(t testing.TB, staff *http.Client, form url.Values) string {
	t.Helper()
	res, body := a.post(t, staff, "/admin/events", form)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/events/") {
		t.Fatalf("create event: %d %q\n%s", res.StatusCode, loc, body)
	}
	return strings.TrimPrefix(strings.TrimSuffix(loc, "?created=1"), "/admin")
}

// seatStates reads a seat map: label → data-state.
func seatStates(t testing.TB, body string) map[string]string {
	t.Helper()
	states := map[string]string{}
	doc(t, body).Find(`[data-testid="seat-map"] [data-seat]`).Each(func(_ int, s *goquerySelection) {
		label, _ := s.Attr("data-seat")
		states[label], _ = s.Attr("data-state")
	})
	return states
}

func TestEventsAdminAccess(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	paths := []string{"/admin/events", "/admin/events/new"}
	for _, path := range paths {
		res, _ := app.get(t, app.client(t), path)
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Errorf("anonymous %s: %d %q, want 303 to sign in", path, res.StatusCode, res.Header.Get("Location"))
		}
	}
	// A form sent without a session is not replayed after sign-in: 401, nothing created.
	if res, _ := app.post(t, app.client(t), "/admin/events", eventForm("Anonymous", 1, 1, "")); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous create: %d, want 401", res.StatusCode)
	}
	for _, c := range []struct {
		user ldaptest.User
		want int
	}{{alice, 403}, {sam, 200}, {ada, 200}} {
		cl := app.client(t)
		app.login(t, cl, c.user)
		for _, path := range paths {
			if res, _ := app.get(t, cl, path); res.StatusCode != c.want {
				t.Errorf("%s %s: %d, want %d", c.user.Username, path, res.StatusCode, c.want)
			}
		}
		res, _ := app.post(t, cl, "/admin/events", eventForm("By "+c.user.Username, 1, 2, ""))
		if want := map[int]int{403: 403, 200: 303}[c.want]; res.StatusCode != want {
			t.Errorf("%s creating an event: %d, want %d", c.user.Username, res.StatusCode, want)
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM events"); n != 2 {
		t.Errorf("%d events, want 2 (sam's and ada's)", n)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'event.create'"); n != 2 {
		t.Errorf("%d event.create audit rows, want 2", n)
	}
}

func TestEventFormValidation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	staff := app.client(t)
	app.login(t, staff, sam)
	good := eventForm("Concert", 2, 3, "")
	for name, change := range map[string]func(url.Values){
		"no title":        func(f url.Values) { f.Set("title", " ") },
		"bad time":        func(f url.Values) { f.Set("opens_at", "tomorrow") },
		"closes first":    func(f url.Values) { f.Set("closes_at", f.Get("opens_at")) },
		"after the start": func(f url.Values) { f.Set("starts_at", f.Get("opens_at")) },
		"27 rows":         func(f url.Values) { f.Set("rows", "27") },
		"no seats":        func(f url.Values) { f.Set("per_row", "0") },
		"bad label":       func(f url.Values) { f.Set("blocked", "A1, 7") },
		"off the map":     func(f url.Values) { f.Set("blocked", "C1") },
	} {
		f := url.Values{}
		for k, v := range good {
			f[k] = append([]string(nil), v...)
		}
		change(f)
		res, body := app.post(t, staff, "/admin/events", f)
		if res.StatusCode != http.StatusBadRequest || testid(t, body, "admin-result") == "" {
			t.Errorf("%s: %d, message %q; want 400 with a message", name, res.StatusCode, testid(t, body, "admin-result"))
		}
		// The form comes back as it was sent.
		if v, _ := doc(t, body).Find(`input[name="title"]`).Attr("value"); v != strings.TrimSpace(f.Get("title")) {
			t.Errorf("%s: title came back as %q", name, v)
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM events"); n != 0 {
		t.Errorf("%d events after refused forms", n)
	}
}

func TestEventReservation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	bob := ldapUser("bob", "students")
	app.Dir.AddUsers(t, bob)
	staff, ca, cb := app.client(t), app.client(t), app.client(t)
	app.login(t, staff, sam)
	app.login(t, ca, alice)
	app.login(t, cb, bob)
	path := app.createEvent(t, staff, eventForm("Spring concert", 2, 3, "B3"))

	// The list and the map: five seats free, B3 blocked.
	_, body := app.get(t, ca, "/events")
	if got := testid(t, body, "event-seats-left"); got != "5 seats left" {
		t.Errorf("events list: %q, want 5 seats left", got)
	}
	_, body = app.get(t, ca, path)
	states := seatStates(t, body)
	if len(states) != 6 || states["A1"] != "free" || states["B3"] != "blocked" {
		t.Errorf("seat map %v, want 6 seats with B3 blocked", states)
	}

	reserve := func(c *http.Client, seat string, header ...string) (*http.Response, string) {
		t.Helper()
		return app.post(t, c, path+"/reserve", url.Values{"seat": {seat}}, header...)
	}
	// Alice takes A1 with HTMX: the answer is the map, and the message out of band.
	res, body := reserve(ca, "A1", "HX-Request", "true")
	if res.StatusCode != 200 || res.Header.Get("X-Seat-Result") != "reserved" {
		t.Fatalf("alice reserving A1: %d %s\n%s", res.StatusCode, res.Header.Get("X-Seat-Result"), body)
	}
	if strings.Contains(body, "<html") || !strings.Contains(body, `hx-swap-oob="true"`) {
		t.Errorf("HTMX answer is not the map fragment with an out-of-band result:\n%s", body)
	}
	if got := testid(t, body, "seat-result"); got != "Seat A1 is yours." {
		t.Errorf("result %q", got)
	}
	if states := seatStates(t, body); states["A1"] != "mine" || testid(t, body, "my-seat") != "Your seat: A1" {
		t.Errorf("after reserving, A1 is %q and my-seat says %q", states["A1"], testid(t, body, "my-seat"))
	}

	// Bob asks for A1: taken, said plainly, and the map shows it taken.
	res, body = reserve(cb, "A1")
	if res.StatusCode != http.StatusConflict || res.Header.Get("X-Seat-Result") != "taken" {
		t.Errorf("bob reserving A1: %d %s", res.StatusCode, res.Header.Get("X-Seat-Result"))
	}
	if got := testid(t, body, "seat-result"); !strings.Contains(got, "A1 was just taken") {
		t.Errorf("bob's message %q", got)
	}
	if states := seatStates(t, body); states["A1"] != "taken" || states["A2"] != "free" {
		t.Errorf("bob's map after the refusal: %v", states)
	}
	for _, c := range []struct {
		client       *http.Client
		seat, result string
		status       int
	}{
		{ca, "A2", "holding", 409}, // one seat per student
		{cb, "B3", "blocked", 409},
		{cb, "C1", "no_seat", 400},
		{cb, "", "no_seat", 400},
		{cb, "<b>", "no_seat", 400},
	} {
		res, body := reserve(c.client, c.seat)
		if res.StatusCode != c.status || res.Header.Get("X-Seat-Result") != c.result || testid(t, body, "seat-result") == "" {
			t.Errorf("reserve %q: %d %s %q, want %d %s with a message", c.seat, res.StatusCode, res.Header.Get("X-Seat-Result"),
				testid(t, body, "seat-result"), c.status, c.result)
		}
	}
	if res, _ := reserve(staff, "A2"); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff reserving: %d, want 403", res.StatusCode)
	}

	// Staff cannot block a held seat; nothing changes.
	form := eventForm("Spring concert", 2, 3, "A1, B3")
	res, body = app.post(t, staff, "/admin"+path, form)
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "admin-result"), "A1 is reserved by a student") {
		t.Errorf("blocking alice's seat: %d %q", res.StatusCode, testid(t, body, "admin-result"))
	}
	if n := app.count(t, "SELECT COUNT(*) FROM event_seats WHERE blocked"); n != 1 {
		t.Errorf("%d blocked seats after the refused change, want 1", n)
	}

	// Alice cancels; bob takes A1; the home page counts it.
	res, body = app.post(t, ca, path+"/cancel", nil)
	if res.StatusCode != 200 || testid(t, body, "seat-result") != "Your reservation of seat A1 is cancelled." {
		t.Errorf("alice cancelling: %d %q", res.StatusCode, testid(t, body, "seat-result"))
	}
	if res, _ := app.post(t, ca, path+"/cancel", nil); res.Header.Get("X-Seat-Result") != "not_holding" {
		t.Errorf("cancelling twice: %s", res.Header.Get("X-Seat-Result"))
	}
	if res, _ := reserve(cb, "A1"); res.StatusCode != 200 {
		t.Errorf("bob reserving the freed A1: %d", res.StatusCode)
	}
	_, body = app.get(t, ca, "/")
	if got := testid(t, body, "home-event-seats"); got != "4 seats left" {
		t.Errorf("alice's home page: %q, want 4 seats left", got)
	}
	_, body = app.get(t, cb, "/")
	if !strings.Contains(testid(t, body, "home-events"), "Your seat: A1") {
		t.Errorf("bob's home page does not show his seat: %q", testid(t, body, "home-events"))
	}

	// The polled fragment is the map alone, not cached.
	res, body = app.get(t, cb, path+"/seats", "HX-Request", "true")
	if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-store" || seatStates(t, body)["A1"] != "mine" {
		t.Errorf("seat map fragment: %d %q %v", res.StatusCode, res.Header.Get("Cache-Control"), seatStates(t, body))
	}

	// Staff grow the map and move the block: audited with before and after.
	res, _ = app.post(t, staff, "/admin"+path, eventForm("Spring concert", 3, 3, "C3"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("growing the map: %d", res.StatusCode)
	}
	var before, after string
	if err := app.DB.QueryRow(`SELECT JSON_VALUE(details, '$.before.blocked'), JSON_VALUE(details, '$.after.blocked')
		FROM audit_log WHERE action = 'event.update'`).Scan(&before, &after); err != nil || before != "B3" || after != "C3" {
		t.Errorf("audit of the update: %q → %q (%v)", before, after, err)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM event_seats WHERE holder_id IS NOT NULL"); n != 1 {
		t.Errorf("%d seats held after growing the map, want bob's 1", n)
	}
	if res, _ := app.get(t, ca, "/events/999999"); res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown event: %d", res.StatusCode)
	}
}

// The HTTP path of the race, smaller than the service's: 30 signed-in students click
// for the 6 seats of one event, all starting with A1.
func TestEventReservationRaceHTTP(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	staff := app.client(t)
	app.login(t, staff, sam)
	path := app.createEvent(t, staff, eventForm("Lecture", 2, 3, ""))
	var users []ldaptest.User
	for i := range 30 {
		users = append(users, ldapUser(fmt.Sprintf("racer%02d", i), "students"))
	}
	app.Dir.AddUsers(t, users...)
	clients := make([]*http.Client, len(users))
	for i, u := range users {
		clients[i] = app.client(t)
		app.login(t, clients[i], u)
	}
	seats := []string{"A1", "A2", "A3", "B1", "B2", "B3"}
	won := make([]string, len(users))
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start.Wait()
			for k := range seats {
				seat := seats[(k*(i%2+1))%len(seats)] // A1 first for everyone
				res, _ := app.post(t, clients[i], path+"/reserve", url.Values{"seat": {seat}})
				if res.Header.Get("X-Seat-Result") == "reserved" {
					won[i] = seat
					return
				}
				if res.StatusCode != http.StatusConflict {
					t.Errorf("%s for %s: %d %s", users[i].Username, seat, res.StatusCode, res.Header.Get("X-Seat-Result"))
					return
				}
			}
		}()
	}
	start.Done()
	wg.Wait()
	held := map[string]string{}
	for i, seat := range won {
		if seat == "" {
			continue
		}
		if other, ok := held[seat]; ok {
			t.Errorf("%s answered reserved to %s and %s", seat, other, users[i].Username)
		}
		held[seat] = users[i].Username
	}
	if len(held) != len(seats) {
		t.Errorf("%d seats answered reserved, want %d", len(held), len(seats))
	}
	rows, err := app.DB.Query("SELECT CONCAT(CHAR(64 + s.seat_row), s.seat_number), u.username FROM event_seats s JOIN users u ON u.id = s.holder_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seat, user string
		if err := rows.Scan(&seat, &user); err != nil {
			t.Fatal(err)
		}
		n++
		if held[seat] != user {
			t.Errorf("seat %s is %s's in the database, answered to %q", seat, user, held[seat])
		}
	}
	if n != len(held) {
		t.Errorf("%d seats held in the database, %d answered", n, len(held))
	}
}

// Reserve and cancel clicks have their own per-student limit, like registration's.
func TestSeatRequestLimit(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.RequestLimit = web.RequestLimit{Burst: 2, PerSecond: 0.001} })
	staff, c := app.client(t), app.client(t)
	app.login(t, staff, sam)
	app.login(t, c, alice)
	path := app.createEvent(t, staff, eventForm("Lecture", 1, 3, ""))
	var statuses []int
	for _, seat := range []string{"A1", "A2", "A3"} {
		res, _ := app.post(t, c, path+"/reserve", url.Values{"seat": {seat}})
		statuses = append(statuses, res.StatusCode)
	}
	if !slices.Equal(statuses, []int{200, 409, 429}) {
		t.Errorf("three clicks answered %v, want 200, 409 (already holding), 429", statuses)
	}
	// Registration's bucket is apart: alice may still register.
	if res, _ := app.post(t, c, "/registrations", url.Values{"section_id": {"1"}}); res.StatusCode == http.StatusTooManyRequests {
		t.Error("the seat clicks used up the registration limit")
	}
}
