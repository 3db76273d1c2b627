// Package events holds the seat rules of school events: one student per seat and one seat
// per student and event, reservations only while they are open, blocked seats for no one.
// The database enforces the first two (see migration 00005); the transactions here turn
// what it says into answers a student understands.
package events

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/schoolservice/school/db"
)

// Map limits: rows are lettered A to Z.
const (
	MaxRows   = 26
	MaxPerRow = 60
)

// Seat is a place on an event's map: Row 1 is "A", Number 1 is the first seat of a row.
type Seat struct {
	Row, Number int
}

// String is the seat's label, "B7".
func (s Seat) String() string {
	if s.Row < 1 || s.Row > MaxRows {
		return ""
	}
	return string(rune('A'+s.Row-1)) + strconv.Itoa(s.Number)
}

// ParseSeat reads a label such as "B7" or "b7".
func ParseSeat(label string) (Seat, bool) {
	label = strings.ToUpper(strings.TrimSpace(label))
	if len(label) < 2 || label[0] < 'A' || label[0] > 'Z' {
		return Seat{}, false
	}
	n, err := strconv.Atoi(label[1:])
	if err != nil || n < 1 || n > MaxPerRow || label[1] == '+' || label[1] == '0' {
		return Seat{}, false
	}
	return Seat{Row: int(label[0]-'A') + 1, Number: n}, true
}

// Result is what became of a request.
type Result string

const (
	Reserved   Result = "reserved"
	Cancelled  Result = "cancelled"
	Taken      Result = "taken"       // another student holds the seat
	Holding    Result = "holding"     // the student already holds a seat at this event
	Blocked    Result = "blocked"     // staff keep the seat free
	NoSeat     Result = "no_seat"     // the map has no such seat
	NotOpen    Result = "not_open"    // reservations have not opened yet
	Closed     Result = "closed"      // reservations have closed
	NotHolding Result = "not_holding" // a cancel by a student without a seat
	NotFound   Result = "not_found"   // no such event
)

// Outcome is a result and the seat it is about: the one reserved, cancelled, asked for,
// or (for Holding, when known) the one the student holds.
type Outcome struct {
	Result Result
	Seat   Seat
}

// Service runs the reservations.
type Service struct {
	db  *sql.DB
	now func() time.Time
}

// New returns a Service on sqldb; now is the clock (time.Now when nil).
func New(sqldb *sql.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: sqldb, now: now}
}

// window says whether reservations for ev are open at now.
func window(ev db.GetEventRow, now time.Time) Result {
	switch {
	case now.Before(ev.ReserveOpensAt):
		return NotOpen
	case !now.Before(ev.ReserveClosesAt):
		return Closed
	}
	return ""
}

// Reserve gives seat to the student if it is free. The UPDATE that takes the seat only
// matches a free, unblocked seat, so of any number of students racing for it one gets it;
// the UNIQUE (event, holder) key refuses a second seat to a student whose other tab won.
func (s *Service) Reserve(ctx context.Context, eventID, studentID int64, seat Seat) (Outcome, error) {
	var out Outcome
	now := s.now().UTC()
	err := db.InTx(ctx, s.db, func(q *db.Queries) error {
		out = Outcome{Seat: seat}
		ev, err := q.GetEvent(ctx, eventID)
		if errors.Is(err, sql.ErrNoRows) {
			out.Result = NotFound
			return nil
		} else if err != nil {
			return err
		}
		if r := window(ev, now); r != "" {
			out.Result = r
			return nil
		}
		held, err := q.HeldSeat(ctx, db.HeldSeatParams{EventID: eventID, HolderID: sql.NullInt64{Int64: studentID, Valid: true}})
		if err == nil {
			out = Outcome{Result: Holding, Seat: Seat{int(held.SeatRow), int(held.SeatNumber)}}
			return nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if seat.Row < 1 || seat.Row > int(ev.SeatRows) || seat.Number < 1 || seat.Number > int(ev.SeatsPerRow) {
			out.Result = NoSeat
			return nil
		}
		n, err := q.ReserveSeat(ctx, db.ReserveSeatParams{
			HolderID: sql.NullInt64{Int64: studentID, Valid: true}, Now: sql.NullTime{Time: now, Valid: true},
			EventID: eventID, SeatRow: int8(seat.Row), SeatNumber: int8(seat.Number),
		})
		if db.IsDuplicate(err) {
			// Another tab of the same student took a seat since the check above.
			out = Outcome{Result: Holding}
			return nil
		} else if err != nil {
			return err
		}
		if n == 1 {
			out.Result = Reserved
			return nil
		}
		st, err := q.GetSeat(ctx, db.GetSeatParams{EventID: eventID, SeatRow: int8(seat.Row), SeatNumber: int8(seat.Number)})
		switch {
		case errors.Is(err, sql.ErrNoRows):
			out.Result = NoSeat
		case err != nil:
			return err
		case st.Blocked:
			out.Result = Blocked
		default:
			out.Result = Taken
		}
		return nil
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("reserve seat %s of event %d for %d: %w", seat, eventID, studentID, err)
	}
	return out, nil
}

// Cancel gives the student's seat back while reservations are open.
func (s *Service) Cancel(ctx context.Context, eventID, studentID int64) (Outcome, error) {
	var out Outcome
	now := s.now().UTC()
	holder := sql.NullInt64{Int64: studentID, Valid: true}
	err := db.InTx(ctx, s.db, func(q *db.Queries) error {
		out = Outcome{}
		ev, err := q.GetEvent(ctx, eventID)
		if errors.Is(err, sql.ErrNoRows) {
			out.Result = NotFound
			return nil
		} else if err != nil {
			return err
		}
		if r := window(ev, now); r != "" {
			out.Result = r
			return nil
		}
		held, err := q.HeldSeat(ctx, db.HeldSeatParams{EventID: eventID, HolderID: holder})
		if errors.Is(err, sql.ErrNoRows) {
			out.Result = NotHolding
			return nil
		} else if err != nil {
			return err
		}
		n, err := q.CancelSeat(ctx, db.CancelSeatParams{EventID: eventID, HolderID: holder})
		if err != nil {
			return err
		}
		out = Outcome{Result: Cancelled, Seat: Seat{int(held.SeatRow), int(held.SeatNumber)}}
		if n == 0 {
			out = Outcome{Result: NotHolding}
		}
		return nil
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("cancel the seat of %d at event %d: %w", studentID, eventID, err)
	}
	return out, nil
}
