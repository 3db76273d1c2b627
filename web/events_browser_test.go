package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/events"
)

// openEvent adds an event whose reservations are open, straight into the database (the
// browser tests' app keeps Secure cookies, which Go's HTTP client does not send over
// http://, so staff cannot use the form from here).
func openEvent(t *testing.T, app *testApp, rows, perRow int) int64 {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	var id int64
	err := db.InTx(ctx, app.DB, func(q *db.Queries) error {
		var err error
		id, err = q.InsertEvent(ctx, db.InsertEventParams{Title: "Spring concert", Venue: "Main hall",
			StartsAt: now.Add(72 * time.Hour), ReserveOpensAt: now.Add(-time.Hour), ReserveClosesAt: now.Add(48 * time.Hour),
			SeatRows: int8(rows), SeatsPerRow: int8(perRow)})
		if err != nil {
			return err
		}
		return events.ApplyLayout(ctx, q, id, events.Layout{Rows: rows, PerRow: perRow})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// seatIs is a JavaScript test that the seat map shows seat in state.
func seatIs(seat, state string) string {
	return fmt.Sprintf(`document.querySelector('[data-testid="seat-map"] [data-seat=%q]')?.dataset.state === %q`, seat, state)
}

// TestBrowserSeatReservation: bob watches the seat map while alice, in her own browser,
// picks a seat. Alice's map marks it as hers in place; bob's map, polling by itself,
// shows it taken without a reload, and no longer offers it.
func TestBrowserSeatReservation(t *testing.T) {
	requireBrowser(t)
	app := newTestApp(t)
	id := openEvent(t, app, 2, 4)
	path := fmt.Sprintf("%s/events/%d", app.URL, id)
	bob := ldapUser("bob", "students")
	app.Dir.AddUsers(t, bob)

	watcher := newBrowser(t)
	watcher.signIn(app, bob)
	watcher.open(path)
	watcher.waitFor("bob's map with A2 free", seatIs("A2", "free"))
	watcher.mark()

	b := newBrowser(t)
	b.signIn(app, alice)
	b.open(path)
	b.waitFor("alice's map with A2 free", seatIs("A2", "free"))
	b.mark()
	b.click("pick seat A2", `[data-testid="seat-map"] button[data-seat="A2"]`)
	b.waitFor("A2 marked as alice's", seatIs("A2", "mine"))
	b.waitFor("the answer", `document.querySelector('[data-testid="seat-result"]')?.textContent.trim() === "Seat A2 is yours."`)
	b.noReload("reserving A2")
	mine, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('[data-testid="my-seat"]').textContent.trim()`))
	if err != nil || mine != "Your seat: A2" {
		t.Errorf("alice's seat line = %q (%v), want %q", mine, err, "Your seat: A2")
	}
	// With a seat, no other seat is a button.
	buttons, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="seat-map"] button[data-seat]').length`))
	if err != nil || buttons != 0 {
		t.Errorf("alice's map offers %d seats after she took one (%v), want 0", buttons, err)
	}
	b.screenshot("seat-reserved.png")

	watcher.waitFor("A2 taken on bob's map", seatIs("A2", "taken"))
	watcher.noReload("the seat map's polling")
	offered, err := chromedp.Run(watcher.ctx, chromedp.Evaluate[bool](`document.querySelector('[data-testid="seat-map"] button[data-seat="A2"]') !== null`))
	if err != nil || offered {
		t.Errorf("bob's map still offers A2 (%v)", err)
	}
	watcher.screenshot("seat-taken.png")
	b.checkConsole()
	watcher.checkConsole()
}
