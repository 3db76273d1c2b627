package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/schoolservice/school/db"
)

// Layout is an event's map as staff set it: its size and the seats kept free.
type Layout struct {
	Rows, PerRow int
	Blocked      []Seat
}

// Contains reports whether seat is on the map.
func (l Layout) Contains(seat Seat) bool {
	return seat.Row >= 1 && seat.Row <= l.Rows && seat.Number >= 1 && seat.Number <= l.PerRow
}

// ParseSeats reads a list of labels separated by commas or spaces ("A1, A2 C10") into
// seats in map order, without repeats. It returns the first label it cannot read as bad.
func ParseSeats(text string) (seats []Seat, bad string) {
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		s, ok := ParseSeat(f)
		if !ok {
			return nil, f
		}
		if !slices.Contains(seats, s) {
			seats = append(seats, s)
		}
	}
	slices.SortFunc(seats, func(a, b Seat) int { return (a.Row-b.Row)*1000 + a.Number - b.Number })
	return seats, ""
}

// FormatSeats is the inverse of ParseSeats.
func FormatSeats(seats []Seat) string {
	labels := make([]string, len(seats))
	for i, s := range seats {
		labels[i] = s.String()
	}
	return strings.Join(labels, ", ")
}

// ErrShrinkHeld: the new size would remove a seat a student holds.
var ErrShrinkHeld = errors.New("a held seat is outside the new map")

// HeldError: staff asked to block a seat a student holds.
type HeldError struct{ Seat Seat }

func (e *HeldError) Error() string { return fmt.Sprintf("seat %s is held", e.Seat) }

// ApplyLayout makes the event's seats match l, inside the caller's transaction (which
// should hold the event's row lock). It never takes a seat from a student: it fails with
// ErrShrinkHeld or a *HeldError instead, and the caller rolls back.
func ApplyLayout(ctx context.Context, q *db.Queries, eventID int64, l Layout) error {
	held, err := q.CountHeldOutside(ctx, db.CountHeldOutsideParams{EventID: eventID, SeatRows: int8(l.Rows), SeatsPerRow: int8(l.PerRow)})
	if err != nil {
		return fmt.Errorf("held seats outside %dx%d: %w", l.Rows, l.PerRow, err)
	}
	if held > 0 {
		return ErrShrinkHeld
	}
	if err := q.DeleteSeatsOutside(ctx, db.DeleteSeatsOutsideParams{EventID: eventID, SeatRows: int8(l.Rows), SeatsPerRow: int8(l.PerRow)}); err != nil {
		return fmt.Errorf("remove seats outside %dx%d: %w", l.Rows, l.PerRow, err)
	}
	existing, err := q.EventSeats(ctx, eventID)
	if err != nil {
		return fmt.Errorf("seats of event %d: %w", eventID, err)
	}
	have := make(map[Seat]bool, len(existing))
	for _, s := range existing {
		have[Seat{int(s.SeatRow), int(s.SeatNumber)}] = true
	}
	var rows [][]any
	for r := 1; r <= l.Rows; r++ {
		for n := 1; n <= l.PerRow; n++ {
			if !have[Seat{r, n}] {
				rows = append(rows, []any{eventID, r, n})
			}
		}
	}
	if err := q.BulkInsert(ctx, "event_seats", []string{"event_id", "seat_row", "seat_number"}, rows); err != nil {
		return err
	}
	if err := q.UnblockSeats(ctx, eventID); err != nil {
		return fmt.Errorf("unblock seats of event %d: %w", eventID, err)
	}
	for _, s := range l.Blocked {
		if !l.Contains(s) {
			return fmt.Errorf("block seat %s: not on the %dx%d map", s, l.Rows, l.PerRow)
		}
		n, err := q.BlockSeat(ctx, db.BlockSeatParams{EventID: eventID, SeatRow: int8(s.Row), SeatNumber: int8(s.Number)})
		if err != nil {
			return fmt.Errorf("block seat %s: %w", s, err)
		}
		if n == 0 {
			return &HeldError{Seat: s}
		}
	}
	return nil
}
