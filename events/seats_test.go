package events_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/events"
)

// now is the fixture's clock: reservations are open from an hour before to a day after.
var now = time.Date(2027, 3, 10, 12, 0, 0, 0, time.UTC)

type fixture struct {
	t   *testing.T
	db  *sql.DB
	q   *db.Queries
	svc *events.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sqldb, _ := dbtest.New(t)
	return &fixture{t: t, db: sqldb, q: db.New(sqldb), svc: events.New(sqldb, func() time.Time { return now })}
}

// event adds an event with a rows × perRow map, open for reservations now.
func (f *fixture) event(rows, perRow int, blocked ...events.Seat) int64 {
	f.t.Helper()
	ctx := context.Background()
	var id int64
	err := db.InTx(ctx, f.db, func(q *db.Queries) error {
		var err error
		id, err = q.InsertEvent(ctx, db.InsertEventParams{Title: "Festival", Venue: "Main hall",
			StartsAt: now.Add(48 * time.Hour), ReserveOpensAt: now.Add(-time.Hour), ReserveClosesAt: now.Add(24 * time.Hour),
			SeatRows: int8(rows), SeatsPerRow: int8(perRow)})
		if err != nil {
			return err
		}
		return events.ApplyLayout(ctx, q, id, events.Layout{Rows: rows, PerRow: perRow, Blocked: blocked})
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// students adds n students and returns their ids.
func (f *fixture) students(n int) []int64 {
	f.t.Helper()
	ctx := context.Background()
	rows := make([][]any, n)
	for i := range rows {
		rows[i] = []any{fmt.Sprintf("s%04d", i), fmt.Sprintf("2027%05d", i), fmt.Sprintf("Student %d", i), "student", 1}
	}
	if err := f.q.BulkInsert(ctx, "users", []string{"username", "student_number", "display_name", "role", "class_year"}, rows); err != nil {
		f.t.Fatal(err)
	}
	users, err := f.q.ListUserIDs(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	ids := make([]int64, 0, n)
	for _, u := range users {
		ids = append(ids, u.ID)
	}
	return ids
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(query, args...).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// 500 students race for the 50 seats of one event, most of them for the same three seats
// first; 100 of them in two tabs at once. Each seat ends with one holder, each student
// with at most one seat, and the database holds exactly the reservations that were
// answered "reserved".
func TestReserveRace(t *testing.T) {
	f := newFixture(t)
	const rows, perRow = 5, 10
	ev := f.event(rows, perRow)
	students := f.students(500)
	hot := []events.Seat{{1, 5}, {1, 6}, {2, 5}}

	type win struct {
		student int64
		seat    events.Seat
	}
	var (
		mu      sync.Mutex
		wins    []win
		holding int
		taken   int
		failed  []error
	)
	var start, wg sync.WaitGroup
	start.Add(1)
	tab := func(i int, student int64) {
		defer wg.Done()
		start.Wait()
		// A hot seat first, then the rest of the map from a place of the student's own.
		tries := []events.Seat{hot[i%len(hot)]}
		for k := range rows * perRow {
			j := (i*7 + k) % (rows * perRow)
			tries = append(tries, events.Seat{Row: 1 + j/perRow, Number: 1 + j%perRow})
		}
		for _, seat := range tries {
			out, err := f.svc.Reserve(context.Background(), ev, student, seat)
			mu.Lock()
			switch {
			case err != nil:
				failed = append(failed, err)
			case out.Result == events.Reserved:
				wins = append(wins, win{student, out.Seat})
			case out.Result == events.Holding:
				holding++
			case out.Result == events.Taken:
				taken++
			default:
				failed = append(failed, fmt.Errorf("student %d, seat %s: %s", student, seat, out.Result))
			}
			mu.Unlock()
			if err != nil || out.Result != events.Taken {
				return
			}
		}
	}
	for i, st := range students {
		wg.Add(1)
		go tab(i, st)
		if i < 100 { // a second tab
			wg.Add(1)
			go tab(i+1, st)
		}
	}
	began := time.Now()
	start.Done()
	wg.Wait()
	elapsed := time.Since(began)
	t.Logf("%d reserve calls in %v (%.0f/s): %d reserved, %d taken, %d already holding",
		len(wins)+taken+holding, elapsed.Round(time.Millisecond), float64(len(wins)+taken+holding)/elapsed.Seconds(), len(wins), taken, holding)
	for _, err := range failed {
		t.Error(err)
	}

	seats := map[events.Seat]int64{}
	byStudent := map[int64]events.Seat{}
	for _, w := range wins {
		if other, ok := seats[w.seat]; ok {
			t.Errorf("seat %s answered reserved to both %d and %d", w.seat, other, w.student)
		}
		if other, ok := byStudent[w.student]; ok {
			t.Errorf("student %d answered reserved for both %s and %s", w.student, other, w.seat)
		}
		seats[w.seat], byStudent[w.student] = w.student, w.seat
	}
	if len(wins) != rows*perRow {
		t.Errorf("%d reservations answered, want %d (every seat)", len(wins), rows*perRow)
	}
	if holding == 0 {
		t.Error("no second tab was told it already holds a seat")
	}
	// The database agrees, seat by seat.
	got, err := f.q.EventSeats(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, s := range got {
		seat := events.Seat{Row: int(s.SeatRow), Number: int(s.SeatNumber)}
		if !s.HolderID.Valid {
			t.Errorf("seat %s is free after the race", seat)
			continue
		}
		held++
		if s.HolderID.Int64 != seats[seat] {
			t.Errorf("seat %s is held by %d in the database, answered to %d", seat, s.HolderID.Int64, seats[seat])
		}
	}
	if held != len(wins) || len(got) != rows*perRow {
		t.Errorf("%d seats held of %d in the database, %d answered reserved", held, len(got), len(wins))
	}
	if n := f.count("SELECT COUNT(DISTINCT holder_id) FROM event_seats WHERE event_id = ? AND holder_id IS NOT NULL", ev); n != len(wins) {
		t.Errorf("%d distinct holders, want %d", n, len(wins))
	}
}

func TestReserveRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ev := f.event(2, 3, events.Seat{Row: 2, Number: 3})
	st := f.students(2)
	alice, bob := st[0], st[1]

	check := func(what string, out events.Outcome, err error, want events.Result, seat string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if out.Result != want || out.Seat.String() != seat {
			t.Errorf("%s: %s %q, want %s %q", what, out.Result, out.Seat, want, seat)
		}
	}
	out, err := f.svc.Reserve(ctx, ev, alice, events.Seat{Row: 1, Number: 2})
	check("alice takes A2", out, err, events.Reserved, "A2")
	out, err = f.svc.Reserve(ctx, ev, bob, events.Seat{Row: 1, Number: 2})
	check("bob asks for A2", out, err, events.Taken, "A2")
	out, err = f.svc.Reserve(ctx, ev, alice, events.Seat{Row: 1, Number: 3})
	check("alice asks for a second seat", out, err, events.Holding, "A2")
	out, err = f.svc.Reserve(ctx, ev, bob, events.Seat{Row: 2, Number: 3})
	check("bob asks for the blocked B3", out, err, events.Blocked, "B3")
	out, err = f.svc.Reserve(ctx, ev, bob, events.Seat{Row: 3, Number: 1})
	check("bob asks for C1, off the map", out, err, events.NoSeat, "C1")
	out, err = f.svc.Reserve(ctx, 9999, bob, events.Seat{Row: 1, Number: 1})
	check("an unknown event", out, err, events.NotFound, "A1")
	out, err = f.svc.Cancel(ctx, ev, bob)
	check("bob cancels without a seat", out, err, events.NotHolding, "")
	out, err = f.svc.Cancel(ctx, ev, alice)
	check("alice cancels", out, err, events.Cancelled, "A2")
	out, err = f.svc.Reserve(ctx, ev, bob, events.Seat{Row: 1, Number: 2})
	check("bob takes the freed A2", out, err, events.Reserved, "A2")

	// Staff cannot block a held seat, nor shrink the map past one.
	err = db.InTx(ctx, f.db, func(q *db.Queries) error {
		return events.ApplyLayout(ctx, q, ev, events.Layout{Rows: 2, PerRow: 3, Blocked: []events.Seat{{1, 2}}})
	})
	if he, ok := err.(*events.HeldError); !ok || he.Seat.String() != "A2" {
		t.Errorf("blocking the held A2: %v, want a HeldError for A2", err)
	}
	err = db.InTx(ctx, f.db, func(q *db.Queries) error {
		return events.ApplyLayout(ctx, q, ev, events.Layout{Rows: 2, PerRow: 1})
	})
	if err != events.ErrShrinkHeld {
		t.Errorf("shrinking past the held A2: %v, want ErrShrinkHeld", err)
	}
	// Growing keeps the holder and adds the seats; the old block is lifted.
	err = db.InTx(ctx, f.db, func(q *db.Queries) error {
		return events.ApplyLayout(ctx, q, ev, events.Layout{Rows: 3, PerRow: 4, Blocked: []events.Seat{{3, 4}}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.count("SELECT COUNT(*) FROM event_seats WHERE event_id = ?", ev); n != 12 {
		t.Errorf("%d seats after growing to 3x4, want 12", n)
	}
	if n := f.count("SELECT COUNT(*) FROM event_seats WHERE event_id = ? AND blocked", ev); n != 1 {
		t.Errorf("%d blocked seats, want 1 (C4)", n)
	}
	if n := f.count("SELECT COUNT(*) FROM event_seats WHERE event_id = ? AND holder_id = ?", ev, bob); n != 1 {
		t.Errorf("bob holds %d seats after growing the map, want 1", n)
	}
}

func TestReserveWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ev := f.event(1, 2)
	st := f.students(1)[0]
	for _, c := range []struct {
		at   time.Time
		want events.Result
	}{
		{now.Add(-2 * time.Hour), events.NotOpen},
		{now.Add(24 * time.Hour), events.Closed},
		{now, events.Reserved},
	} {
		svc := events.New(f.db, func() time.Time { return c.at })
		out, err := svc.Reserve(ctx, ev, st, events.Seat{Row: 1, Number: 1})
		if err != nil || out.Result != c.want {
			t.Errorf("reserve at %s: %s %v, want %s", c.at, out.Result, err, c.want)
		}
	}
	late := events.New(f.db, func() time.Time { return now.Add(25 * time.Hour) })
	if out, err := late.Cancel(ctx, ev, st); err != nil || out.Result != events.Closed {
		t.Errorf("cancel after closing: %s %v, want closed", out.Result, err)
	}
}

func TestParseSeat(t *testing.T) {
	for label, want := range map[string]string{"A1": "A1", "b7": "B7", " z60 ": "Z60"} {
		if s, ok := events.ParseSeat(label); !ok || s.String() != want {
			t.Errorf("ParseSeat(%q) = %v %v, want %s", label, s, ok, want)
		}
	}
	for _, bad := range []string{"", "A", "A0", "A01", "A61", "1A", "AA1", "A+1", "A-1", "Ä1"} {
		if s, ok := events.ParseSeat(bad); ok {
			t.Errorf("ParseSeat(%q) = %v, want refused", bad, s)
		}
	}
	seats, bad := events.ParseSeats("A1, a2;C10\nA1")
	if bad != "" || events.FormatSeats(seats) != "A1, A2, C10" {
		t.Errorf("ParseSeats: %v %q", seats, bad)
	}
	if _, bad := events.ParseSeats("A1, X0"); bad != "X0" {
		t.Errorf("ParseSeats with a bad label: bad = %q, want X0", bad)
	}
}
