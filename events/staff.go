package events

import (
	"context"
	"time"

	"github.com/schoolservice/school/db"
)

// Details are what staff write about an event besides its map. Times are in UTC.
type Details struct {
	Title, Venue, Description string
	StartsAt                  time.Time
	ReserveOpens              time.Time
	ReserveCloses             time.Time
}

// record is an event as the audit log keeps it.
type record struct {
	Title       string    `json:"title"`
	Venue       string    `json:"venue"`
	Description string    `json:"description"`
	StartsAt    time.Time `json:"starts_at"`
	Opens       time.Time `json:"reserve_opens_at"`
	Closes      time.Time `json:"reserve_closes_at"`
	Rows        int       `json:"seat_rows"`
	PerRow      int       `json:"seats_per_row"`
	Blocked     string    `json:"blocked"`
}

func (d Details) record(l Layout) record {
	return record{Title: d.Title, Venue: d.Venue, Description: d.Description, StartsAt: d.StartsAt, Opens: d.ReserveOpens,
		Closes: d.ReserveCloses, Rows: l.Rows, PerRow: l.PerRow, Blocked: FormatSeats(l.Blocked)}
}

// Create adds an event with its seat map, and returns its id.
func (s *Service) Create(ctx context.Context, by db.Actor, d Details, l Layout) (int64, error) {
	var id int64
	err := db.Audited(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		var err error
		id, err = q.InsertEvent(ctx, db.InsertEventParams{Title: d.Title, Description: d.Description, Venue: d.Venue,
			StartsAt: d.StartsAt, ReserveOpensAt: d.ReserveOpens, ReserveClosesAt: d.ReserveCloses,
			SeatRows: int8(l.Rows), SeatsPerRow: int8(l.PerRow)})
		if err != nil {
			return db.Change{}, err
		}
		if err := ApplyLayout(ctx, q, id, l); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "event.create", Entity: "event", EntityID: id, After: d.record(l)}, nil
	})
	return id, err
}

// Update changes event id and its seat map. It never takes a seat from a student: see
// ApplyLayout for its refusals.
func (s *Service) Update(ctx context.Context, by db.Actor, id int64, d Details, l Layout) error {
	return db.Audited(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.LockEvent(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		seats, err := q.EventSeats(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		was := Layout{Rows: int(old.SeatRows), PerRow: int(old.SeatsPerRow)}
		for _, st := range seats {
			if st.Blocked {
				was.Blocked = append(was.Blocked, Seat{Row: int(st.SeatRow), Number: int(st.SeatNumber)})
			}
		}
		before := Details{Title: old.Title, Venue: old.Venue, Description: old.Description, StartsAt: old.StartsAt.UTC(),
			ReserveOpens: old.ReserveOpensAt.UTC(), ReserveCloses: old.ReserveClosesAt.UTC()}.record(was)
		after := d.record(l)
		if before == after {
			return db.Change{}, nil
		}
		if _, err := q.UpdateEvent(ctx, db.UpdateEventParams{Title: d.Title, Description: d.Description, Venue: d.Venue,
			StartsAt: d.StartsAt, ReserveOpensAt: d.ReserveOpens, ReserveClosesAt: d.ReserveCloses,
			SeatRows: int8(l.Rows), SeatsPerRow: int8(l.PerRow), ID: id}); err != nil {
			return db.Change{}, err
		}
		if err := ApplyLayout(ctx, q, id, l); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "event.update", Entity: "event", EntityID: id, Before: before, After: after}, nil
	})
}
