package waitingroom_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/waitingroom"
)

// opens is when registration opens in every test window.
var opens = time.Date(2027, 2, 15, 10, 0, 0, 0, time.UTC)

// clock is the fake clock the rooms read through Options.Now; tests move it by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// fixture is a throwaway database with a term, a fake clock and helpers to add windows,
// students and rooms.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	db    *sql.DB
	txdb  *sql.DB // TxOnly, for the students' transactions
	q     *db.Queries
	clock *clock
	term  int64
	n     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sqldb, dsn := dbtest.New(t)
	f := &fixture{t: t, ctx: t.Context(), db: sqldb, txdb: dbtest.TxPool(t, dsn), q: db.New(sqldb), clock: &clock{now: opens.Add(-time.Hour)}}
	var err error
	if f.term, err = f.q.InsertTerm(f.ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: opens.AddDate(0, 1, 0), EndsOn: opens.AddDate(0, 5, 0)}); err != nil {
		t.Fatal(err)
	}
	return f
}

// windowSpec is a queued registration window's settings.
type windowSpec struct {
	classYear any           // nil: every year
	prequeue  time.Duration // how long before opening the pre-queue opens; 0: no pre-queue
	maxActive int
	rate      float64 // admit_per_second
	pass      int     // pass_seconds
	idle      int     // idle_seconds
	grace     int     // grace_seconds
}

// window adds a queued registration window opening at opens and closing two hours later;
// zero settings take generous defaults.
func (f *fixture) window(s windowSpec) int64 {
	f.t.Helper()
	if s.maxActive == 0 {
		s.maxActive = 100000
	}
	if s.rate == 0 {
		s.rate = 10
	}
	if s.pass == 0 {
		s.pass = 3600
	}
	if s.idle == 0 {
		s.idle = 3600
	}
	if s.grace == 0 {
		s.grace = 3600
	}
	var prequeue any
	if s.prequeue > 0 {
		prequeue = opens.Add(-s.prequeue)
	}
	res := f.exec(`INSERT INTO registration_windows (term_id, class_year, phase, opens_at, closes_at, queue_enabled,
		prequeue_opens_at, max_active, admit_per_second, pass_seconds, idle_seconds, grace_seconds)
		VALUES (?, ?, 'registration', ?, ?, TRUE, ?, ?, ?, ?, ?, ?)`,
		f.term, s.classYear, opens, opens.Add(2*time.Hour), prequeue, s.maxActive, s.rate, s.pass, s.idle, s.grace)
	id, err := res.LastInsertId()
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// room starts a replica reading the fixture's clock, with its own metrics registry.
func (f *fixture) room(opts ...func(*waitingroom.Options)) *waitingroom.Room {
	f.t.Helper()
	o := waitingroom.Options{
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		Registry: prometheus.NewRegistry(),
		Now:      f.clock.Now,
		TxDB:     f.txdb, // as the app runs
		// Every replica of a deployment holds the same secret.
		ShuffleSecret: []byte("the fixture's shuffle secret"),
	}
	for _, opt := range opts {
		opt(&o)
	}
	r, err := waitingroom.New(f.ctx, f.db, o)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// students adds n students of class year 2.
func (f *fixture) students(n int) []int64 {
	f.t.Helper()
	rows := make([][]any, n)
	names := make([]string, n)
	for i := range rows {
		f.n++
		names[i] = fmt.Sprintf("s%05d", f.n)
		rows[i] = []any{names[i], "Student " + names[i], "student", 2, 18}
	}
	if err := f.q.BulkInsert(f.ctx, "users", []string{"username", "display_name", "role", "class_year", "credit_limit"}, rows); err != nil {
		f.t.Fatal(err)
	}
	ids := make([]int64, n)
	for i, name := range names {
		if err := f.db.QueryRow("SELECT id FROM users WHERE username = ?", name).Scan(&ids[i]); err != nil {
			f.t.Fatal(err)
		}
	}
	return ids
}

func (f *fixture) exec(query string, args ...any) sql.Result {
	f.t.Helper()
	res, err := f.db.Exec(query, args...)
	if err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return res
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(query, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// active is how many places of the window are admitted now. It is safe from any goroutine
// (it reports with Errorf).
func (f *fixture) active(window int64) int {
	var n int
	if err := f.db.QueryRow("SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND state = 'admitted'", window).Scan(&n); err != nil {
		f.t.Errorf("count active: %v", err)
	}
	return n
}

// admittedEver is how many places of the window were admitted at some point and not
// requeued since (admitted or done).
func (f *fixture) admittedEver(window int64) int {
	f.t.Helper()
	return f.count("SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND admitted_at IS NOT NULL", window)
}

// row is one waiting_room_tickets row.
type row struct {
	id, user   int64
	prequeue   bool
	position   sql.NullInt64
	state      string
	joinedAt   time.Time
	lastSeen   time.Time
	admittedAt sql.NullTime
	passExpiry sql.NullTime
}

// tickets returns the window's places in the given order (an ORDER BY clause).
func (f *fixture) tickets(window int64, order string) []row {
	f.t.Helper()
	rs, err := f.db.Query(`SELECT id, user_id, prequeue, position, state, joined_at, last_seen_at, admitted_at, pass_expires_at
		FROM waiting_room_tickets WHERE window_id = ? ORDER BY `+order, window)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.id, &r.user, &r.prequeue, &r.position, &r.state, &r.joinedAt, &r.lastSeen, &r.admittedAt, &r.passExpiry); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// ticket returns the student's place in the window.
func (f *fixture) ticket(window, user int64) row {
	f.t.Helper()
	for _, r := range f.tickets(window, "id") {
		if r.user == user {
			return r
		}
	}
	f.t.Fatalf("student %d has no place in window %d", user, window)
	return row{}
}

func (f *fixture) maxPosition(window int64) int64 {
	f.t.Helper()
	return int64(f.count("SELECT COALESCE(MAX(position), 0) FROM waiting_room_tickets WHERE window_id = ?", window))
}

// refresh reloads the caches of the rooms.
func (f *fixture) refresh(rooms ...*waitingroom.Room) {
	f.t.Helper()
	for _, r := range rooms {
		if err := r.Refresh(f.ctx); err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *fixture) tick(r *waitingroom.Room, window int64) {
	f.t.Helper()
	if err := r.Tick(f.ctx, window); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) flush(r *waitingroom.Room) {
	f.t.Helper()
	if err := r.Flush(f.ctx); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) join(r *waitingroom.Room, window, user int64) waitingroom.Place {
	f.t.Helper()
	p, _, err := r.Join(f.ctx, window, user)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

// poll is what the waiting pages of the students do: a Status each, then the replica
// writes back who it saw.
func (f *fixture) poll(r *waitingroom.Room, places ...waitingroom.Place) {
	f.t.Helper()
	for _, p := range places {
		r.Status(p)
	}
	f.flush(r)
}

// open does what Run does once a window without a pre-queue has opened: the refresh that
// puts it in the cache, then a tick at once. That first tick after opening is the one that
// shuffles the (here empty) pre-queue, so the students who join later are ordered by
// arrival.
func (f *fixture) open(r *waitingroom.Room, window int64) {
	f.t.Helper()
	f.refresh(r)
	f.tick(r, window)
}

// queue has n new students join the open window, a millisecond apart, and a tick order
// them. It returns their places in arrival order.
func (f *fixture) queue(r *waitingroom.Room, window int64, n int) []waitingroom.Place {
	f.t.Helper()
	places := make([]waitingroom.Place, 0, n)
	for _, u := range f.students(n) {
		f.clock.Advance(time.Millisecond)
		places = append(places, f.join(r, window, u))
	}
	f.tick(r, window)
	return places
}
