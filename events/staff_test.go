package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/events"
)

// TestStaffEdits: staff create and change an event with its map, each change with its
// audit row; a change that would take a seat from a student is refused whole.
func TestStaffEdits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sam := db.Actor{Username: "sam"}
	d := events.Details{Title: "Concert", Venue: "Main hall", StartsAt: now.Add(48 * time.Hour),
		ReserveOpens: now.Add(-time.Hour), ReserveCloses: now.Add(24 * time.Hour)}
	layout := events.Layout{Rows: 2, PerRow: 3, Blocked: []events.Seat{{Row: 2, Number: 1}}}
	id, err := f.svc.Create(ctx, sam, d, layout)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count("SELECT COUNT(*) FROM event_seats WHERE event_id = ? AND blocked", id); n != 1 {
		t.Errorf("%d seats blocked, want B1", n)
	}
	student := f.students(1)[0]
	if out, err := f.svc.Reserve(ctx, id, student, events.Seat{Row: 1, Number: 3}); err != nil || out.Result != events.Reserved {
		t.Fatalf("reserve A3: %+v %v", out, err)
	}

	renamed := d
	renamed.Title = "Spring concert"
	if err := f.svc.Update(ctx, sam, id, renamed, events.Layout{Rows: 2, PerRow: 2}); !errors.Is(err, events.ErrShrinkHeld) {
		t.Errorf("a map without A3: %v, want ErrShrinkHeld", err)
	}
	var held *events.HeldError
	if err := f.svc.Update(ctx, sam, id, renamed, events.Layout{Rows: 2, PerRow: 3, Blocked: []events.Seat{{Row: 1, Number: 3}}}); !errors.As(err, &held) || held.Seat != (events.Seat{Row: 1, Number: 3}) {
		t.Errorf("blocking A3: %v, want a HeldError for A3", err)
	}
	if n := f.count("SELECT COUNT(*) FROM events WHERE title = 'Concert'"); n != 1 {
		t.Error("a refused change was kept")
	}
	if err := f.svc.Update(ctx, sam, id, d, layout); err != nil {
		t.Errorf("saving it unchanged: %v", err)
	}
	if err := f.svc.Update(ctx, sam, id, renamed, layout); err != nil {
		t.Fatal(err)
	}

	rows, err := f.db.Query("SELECT action, details FROM audit_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var actions []string
	type details struct{ Before, After map[string]any }
	var last details
	for rows.Next() {
		var action string
		var raw []byte
		if err := rows.Scan(&action, &raw); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, action)
		last = details{}
		if err := json.Unmarshal(raw, &last); err != nil {
			t.Fatal(err)
		}
	}
	if len(actions) != 2 || actions[0] != "event.create" || actions[1] != "event.update" {
		t.Fatalf("audit log %v, want the create and one update", actions)
	}
	if last.Before["title"] != "Concert" || last.After["title"] != "Spring concert" || last.After["blocked"] != "B1" || last.After["seat_rows"] != 2.0 {
		t.Errorf("event.update before %v after %v", last.Before, last.After)
	}
}
