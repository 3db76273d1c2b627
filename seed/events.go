package seed

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/events"
)

// Events are the demo's school events: one open for reservations now, one opening later.
var Events = []struct {
	Title, Venue, Description string
	Starts, Opens, Closes     time.Duration // from the seeding time
	Rows, PerRow              int
	Blocked                   string
}{
	{"Spring festival concert", "Main auditorium", "The school orchestra and the student bands. One seat per student.",
		10 * 24 * time.Hour, -time.Hour, 9 * 24 * time.Hour, 10, 20, "A1, A20, E10, E11"},
	{"Guest lecture: careers in computing", "Lecture hall 1", "Alumni talk about their first years at work.",
		20 * 24 * time.Hour, 5 * 24 * time.Hour, 19 * 24 * time.Hour, 8, 12, ""},
}

// Notices are the demo's notices, newest last; the first is pinned, the last unpublished.
var Notices = []struct {
	Title, Body       string
	Pinned, Published bool
}{
	{"Registration for Spring 2027", "Registration is open. Put the sections you want in your **basket** first; on registration day go through the waiting room.\n\n- Check your registration period on the home page\n- Ask the registrar's office if a prerequisite is missing", true, true},
	{"Library hours during exams", "The library stays open until **midnight** during the exam weeks.", false, true},
	{"Spring festival seats", "Seats for the spring festival concert can be reserved on the [Events](/events) page. One seat per student.", false, true},
	{"Draft: summer term", "Not published yet.", false, false},
}

func clearEventsAndNotices(ctx context.Context, q *db.Queries) error {
	if err := q.DeleteAllEvents(ctx); err != nil {
		return err
	}
	return q.DeleteAllNotices(ctx)
}

func writeEventsAndNotices(ctx context.Context, q *db.Queries, now time.Time) error {
	for _, e := range Events {
		id, err := q.InsertEvent(ctx, db.InsertEventParams{Title: e.Title, Description: e.Description, Venue: e.Venue,
			StartsAt: now.Add(e.Starts), ReserveOpensAt: now.Add(e.Opens), ReserveClosesAt: now.Add(e.Closes),
			SeatRows: int8(e.Rows), SeatsPerRow: int8(e.PerRow)})
		if err != nil {
			return fmt.Errorf("event %q: %w", e.Title, err)
		}
		blocked, bad := events.ParseSeats(e.Blocked)
		if bad != "" {
			return fmt.Errorf("event %q: bad seat %q", e.Title, bad)
		}
		if err := events.ApplyLayout(ctx, q, id, events.Layout{Rows: e.Rows, PerRow: e.PerRow, Blocked: blocked}); err != nil {
			return fmt.Errorf("seats of event %q: %w", e.Title, err)
		}
	}
	for i, n := range Notices {
		id, err := q.InsertNotice(ctx, db.InsertNoticeParams{Title: n.Title, Body: n.Body, Pinned: n.Pinned})
		if err != nil {
			return fmt.Errorf("notice %q: %w", n.Title, err)
		}
		if n.Published {
			at := sql.NullTime{Time: now.Add(time.Duration(i-len(Notices)) * time.Hour), Valid: true}
			if _, err := q.SetNoticePublished(ctx, db.SetNoticePublishedParams{PublishedAt: at, ID: id}); err != nil {
				return fmt.Errorf("publish notice %q: %w", n.Title, err)
			}
		}
	}
	return nil
}
