// Package waitingroom is the registration-day waiting room built into the app. A student
// has one place per registration window, whatever tabs or devices they use. Students who
// arrive during the pre-queue are ordered at opening by a shuffle from a seed committed in
// advance; later arrivals queue in arrival order. Admission is paced by a rate, capped by
// how many students may be active at once, and kept to what the backend sustains. All
// of it lives in MySQL, shared by every replica; a poll reads only the replica's cache.
package waitingroom

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/internal/ctxsync"
	"github.com/schoolservice/school/registration"
)

// Room is one replica's view of every waiting room.
type Room struct {
	db *sql.DB
	// txdb runs the students' own transactions, joining and finishing: Options.TxDB, or db.
	txdb    *sql.DB
	q       *db.Queries
	log     *slog.Logger
	signer  signer
	now     func() time.Time
	pace    func(windowID int64, rate float64, maxActive, active int64) (float64, int64)
	paced   sync.Map // window id → the rate its last tick here aimed at (float64)
	metrics *metrics
	seeds   seedDeriver
	// beforeJoinCommit, set by tests only, runs inside a join's transaction before its
	// commit, to hold the commit back.
	beforeJoinCommit func()

	mu      sync.RWMutex
	windows map[int64]*window // queued windows in their pre-queue or open
	tickets map[int64]ticket  // every place in those windows, by ticket id
	// seen is the tickets polled since the last write-back, repeats and all: every poll
	// appends to it (cheaper than a map insert, which cost a poll more than its place's
	// lookup), and the write-back sorts and drops the repeats. It has a lock of its own:
	// polls must not queue behind each other for the cache's lock.
	seenMu  sync.Mutex
	seen    []int64
	sweptMu sync.Mutex
	swept   map[int64]time.Time // when each window was last swept
	// written is when each place was last written back, in Unix ns: no pointer for the
	// collector to follow in a hundred thousand entries (flushMu guards it).
	flushMu sync.Mutex
	written map[int64]int64
	// flushFailedAt is when a write-back last failed, recoveredAt when the first one after
	// a failure succeeded whole (Unix ns; 0: never): see livenessKnown.
	flushFailedAt, recoveredAt atomic.Int64
	// seats are the sections waiting pages showed lately, while a room is open; each
	// entry says when a page last asked for it, and the refresh reads those asked for
	// lately only.
	seats map[int64]*seatEntry

	history   history    // waiting-length samples, for the staff chart
	shuffleMu sync.Mutex // guards shuffles
	// shuffleLoad lets one request at a time load a reveal; the others wait for it, or
	// give up with their request.
	shuffleLoad ctxsync.Mutex
	shuffles    map[int64]verified // revealed shuffles: they never change
}

// SectionSeats is a section's seats left, for the waiting page's basket.
type SectionSeats struct {
	Label     string // "CS101-01"
	SeatsLeft int
}

// seatEntry is a section's seats as the last refresh read them, and when a waiting page
// last asked for them (Unix ns): a poll stores that under the read lock it already holds,
// so polls never queue behind each other for it.
type seatEntry struct {
	SectionSeats
	wanted atomic.Int64
}

// Seats returns the seats left of the given sections, as of the last refresh, and keeps
// those refreshed. Only sections the room already knows are kept: the ids come from the
// poll's URL, and made-up ones must not add to every refresh's read (SeatsNow, on the
// signed-in page, brings in new ones from the database).
func (r *Room) Seats(ids []int64) []SectionSeats {
	if len(ids) == 0 {
		return nil
	}
	now := r.now().UnixNano()
	r.mu.RLock()
	var out []SectionSeats
	for _, id := range ids {
		if e, ok := r.seats[id]; ok {
			out = append(out, e.SectionSeats)
			e.wanted.Store(now)
		}
	}
	r.mu.RUnlock()
	return out
}

// SeatsNow is Seats for a page that may read the database: sections no waiting page
// asked for lately are read at once (and refreshed from then on) instead of showing at
// the next refresh.
func (r *Room) SeatsNow(ctx context.Context, ids []int64) ([]SectionSeats, error) {
	r.mu.RLock()
	var missing []int64
	for _, id := range ids {
		if _, ok := r.seats[id]; !ok {
			missing = append(missing, id)
		}
	}
	r.mu.RUnlock()
	if len(missing) > 0 {
		list, err := r.q.SeatsLeftOf(ctx, missing)
		if err != nil {
			return nil, fmt.Errorf("seats left: %w", err)
		}
		r.mu.Lock()
		if r.seats == nil {
			r.seats = map[int64]*seatEntry{}
		}
		for _, s := range list {
			r.seats[s.ID] = &seatEntry{SectionSeats: SectionSeats{Label: registration.SectionLabel(s.CourseCode, s.Number), SeatsLeft: int(max(0, s.SeatsLeft))}}
		}
		r.mu.Unlock()
	}
	return r.Seats(ids), nil
}

// Options configure a Room.
type Options struct {
	Logger   *slog.Logger
	Registry prometheus.Registerer
	// Pace says how fast and how many the backend can take now, given the window's set
	// rate and active limit and how many students are active: at most those set; nil
	// admits by the set figures.
	Pace func(windowID int64, rate float64, maxActive, active int64) (float64, int64)
	Now  func() time.Time
	// TxDB, when set, is a pool of the same database opened with db.PoolOptions.TxOnly:
	// the students' joins and finishes run on it, without START TRANSACTION and with
	// their last writes sent with the next statement (db.Deferred).
	TxDB *sql.DB
	// ShuffleSecret derives the pre-queue shuffle seeds (see Shuffle). Every replica must
	// hold the same one, and it must never be stored in the database; empty means a random
	// one for this process, which suits a single replica that does not restart between a
	// room's enabling and its opening.
	ShuffleSecret []byte
}

// New loads (or makes, once for all replicas) the key that signs places and passes.
func New(ctx context.Context, sqldb *sql.DB, o Options) (*Room, error) {
	q := db.New(sqldb)
	key := make([]byte, 32)
	rand.Read(key)
	if err := q.PutSecretIfMissing(ctx, db.PutSecretIfMissingParams{Name: "waiting_room", Value: key}); err != nil {
		return nil, fmt.Errorf("waiting room key: %w", err)
	}
	key, err := q.GetSecret(ctx, "waiting_room")
	if err != nil {
		return nil, fmt.Errorf("waiting room key: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Pace == nil {
		o.Pace = func(_ int64, rate float64, maxActive, _ int64) (float64, int64) { return rate, maxActive }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if len(o.ShuffleSecret) == 0 {
		o.ShuffleSecret = make([]byte, 32)
		rand.Read(o.ShuffleSecret)
		o.Logger.WarnContext(ctx, "waiting room: no shuffle secret set, using a random one for this process; with more than one replica, or a restart before an opening, the shuffle will not match its commitment")
	}
	r := &Room{
		db: sqldb, txdb: cmp.Or(o.TxDB, sqldb), q: q, log: o.Logger, signer: newSigner(key), now: o.Now, pace: o.Pace,
		seeds:   seedDeriver{secret: o.ShuffleSecret},
		windows: map[int64]*window{}, tickets: map[int64]ticket{},
		shuffles: map[int64]verified{}, written: map[int64]int64{}, swept: map[int64]time.Time{},
	}
	r.metrics = newMetrics(o.Registry, r)
	return r, nil
}

// window is a queued registration window with the replica's latest figures.
type window struct {
	db.QueuedWindowsRow
	since      time.Time // tickets changed before this are in the cache
	line       line      // positions still waiting: a place's rank is its place in line
	waiting    int
	active     int
	admissions []stamp // admitted totals seen, for the measured rate
}

type stamp struct {
	at    time.Time
	total int
}

// ticket is what the replica knows of a place. It holds no pointer, and the map holds
// tickets rather than pointers to them: the collector skips a map of a hundred thousand
// places, and a poll's lookup finds the place in the map's own slot.
type ticket struct {
	window, user int64
	position     int64 // 0 until ordered
	state        ticketState
}

// ticketState is a place's state (db.WaitingRoomTicketsState) in a byte.
type ticketState uint8

const (
	waiting ticketState = iota
	admitted
	done
	expired
)

func stateOf(s db.WaitingRoomTicketsState) ticketState {
	switch s {
	case db.WaitingRoomTicketsStateAdmitted:
		return admitted
	case db.WaitingRoomTicketsStateDone:
		return done
	case db.WaitingRoomTicketsStateExpired:
		return expired
	}
	return waiting
}

// WindowFor returns the queued window a student of classYear waits in now, if any: the
// one for their year before one for every year, the earliest-made on a tie.
func (r *Room) WindowFor(classYear int) (int64, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	best, bestYear := int64(0), false
	for id, w := range r.windows {
		forYear := w.ClassYear.Valid && int(w.ClassYear.Int16) == classYear
		if !forYear && w.ClassYear.Valid {
			continue
		}
		if best == 0 || forYear && !bestYear || forYear == bestYear && id < best {
			best, bestYear = id, forYear
		}
	}
	return best, best != 0
}

// Admitted reports whether the place holds an admission now, as the cache last saw it:
// a pass outlives a place finished for idleness or by the student.
func (r *Room) Admitted(p Place) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.tickets[p.Ticket]
	return ok && t.user == p.User && t.state == admitted
}

// Open reports whether the window's registration has opened (the pre-queue is over).
func (r *Room) Open(windowID int64) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	w := r.windows[windowID]
	return w != nil && !r.now().Before(w.OpensAt)
}

// Join gives the student their place in the window, the same one on every call; a place
// that expired or whose pass ended is taken again at the back.
func (r *Room) Join(ctx context.Context, windowID, userID int64) (Place, string, error) {
	r.mu.RLock()
	w := r.windows[windowID]
	r.mu.RUnlock()
	if w == nil {
		return Place{}, "", fmt.Errorf("window %d has no waiting room now", windowID)
	}
	// One transaction under the window's state row, shared: the ticks take that row
	// exclusively, so a tick waits for this join to commit and orders it by the arrival
	// number its INSERT (or requeue) took, never behind a later arrival. The time is taken
	// after the share lock, in each attempt: it says on which side of the opening the
	// student came. Retried for long: the opening tick, which shuffles the whole
	// pre-queue, holds the row a while.
	var t db.GetTicketRow
	err := db.InTx(ctx, r.txdb, func(q *db.Queries) error {
		if _, err := q.ShareRoomState(ctx, windowID); err != nil {
			return fmt.Errorf("share room state: %w", err)
		}
		now := r.now().UTC()
		// Sent with the read of the place that follows (db.Deferred).
		if err := q.JoinRoom(db.Deferred(ctx), db.JoinRoomParams{WindowID: windowID, UserID: userID, Prequeue: now.Before(w.OpensAt), Now: now}); err != nil {
			return fmt.Errorf("join waiting room: %w", err)
		}
		var err error
		if t, err = q.GetTicket(ctx, db.GetTicketParams{WindowID: windowID, UserID: userID}); err != nil {
			return fmt.Errorf("read place: %w", err)
		}
		if t.State == db.WaitingRoomTicketsStateExpired || t.State == db.WaitingRoomTicketsStateDone {
			if _, err := q.RequeueTicket(ctx, db.RequeueTicketParams{Prequeue: now.Before(w.OpensAt), Now: now, ID: t.ID}); err != nil {
				return fmt.Errorf("requeue: %w", err)
			}
			if t, err = q.GetTicket(ctx, db.GetTicketParams{WindowID: windowID, UserID: userID}); err != nil {
				return fmt.Errorf("read place: %w", err)
			}
		}
		if r.beforeJoinCommit != nil {
			r.beforeJoinCommit()
		}
		return nil
	}, db.Attempts(15), r.metrics.retry("join"), db.Idempotent()) // a second run finds the place the first one made
	if err != nil {
		return Place{}, "", err
	}
	p := Place{Window: windowID, User: userID, Ticket: t.ID}
	r.remember(p, t)
	r.markSeen(t.ID)
	return p, r.signer.Token(p), nil
}

// Place returns the student's place in the window without taking one: ok is false when
// they have none that counts (never joined, expired, or done), and Join would take one.
// It reads the database, and writes nothing there.
func (r *Room) Place(ctx context.Context, windowID, userID int64) (p Place, token string, ok bool, err error) {
	t, err := r.q.GetTicket(ctx, db.GetTicketParams{WindowID: windowID, UserID: userID})
	if errors.Is(err, sql.ErrNoRows) {
		return Place{}, "", false, nil
	}
	if err != nil {
		return Place{}, "", false, fmt.Errorf("read place: %w", err)
	}
	if t.State != db.WaitingRoomTicketsStateWaiting && t.State != db.WaitingRoomTicketsStateAdmitted {
		return Place{}, "", false, nil
	}
	p = Place{Window: windowID, User: userID, Ticket: t.ID}
	r.remember(p, t)
	return p, r.signer.Token(p), true, nil
}

// remember puts a place just read from the database into the cache unless the cache
// has it already (a new place then shows at once, not at the next refresh).
func (r *Room) remember(p Place, t db.GetTicketRow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tickets[t.ID]; !ok || t.State == db.WaitingRoomTicketsStateWaiting && !t.Position.Valid {
		r.tickets[t.ID] = ticket{window: p.Window, user: p.User, position: t.Position.Int64, state: stateOf(t.State)}
	}
}

// ensureState makes the window's state row, with the shuffle's nonce and commitment (the
// seed itself is not stored until the opening), unless a replica made it already.
// Refresh calls it for every enabled room that has none, before its pre-queue opens, so
// the commitment is public before anyone arrives and joins and ticks can count on the row.
func (r *Room) ensureState(ctx context.Context, windowID int64) error {
	nonce := newNonce()
	err := r.q.CreateRoomState(ctx, db.CreateRoomStateParams{WindowID: windowID,
		ShuffleCommitment: Commitment(r.seeds.seed(windowID, nonce)), ShuffleNonce: sql.NullString{String: nonce, Valid: true}})
	if err != nil {
		return fmt.Errorf("waiting room state: %w", err)
	}
	return nil
}

// State is where a place stands, as its student sees it. Its number is the waiting
// page's data-state, which the load tools read: a new state goes at the end.
type State int

const (
	Joining  State = iota // not in this replica's cache yet, or not ordered yet: it shows within a second
	Prequeue              // registration has not opened; the place is ordered at the opening
	Waiting               // in line, at Position
	Admitted              // may enter registration
	Lost                  // expired for not polling, or finished
)

func (s State) String() string {
	if names := [...]string{"joining", "prequeue", "waiting", "admitted", "lost"}; int(s) < len(names) && s >= 0 {
		return names[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Status is what a waiting student sees.
type Status struct {
	Known    bool // the place is in this replica's cache (a new place appears within a second)
	State    State
	Position int // 1 for next in line; 0 unless Waiting
	Opens    time.Time
	Wait     time.Duration // estimated from the measured admission rate; 0 when unknown
	// Measured says Wait comes from the admissions of the last ten seconds, not from the
	// set rate (before there are any): an estimate the page's polls can follow.
	Measured bool
	Paused   bool
	// Commitment is the SHA-256 of the pre-queue shuffle's seed, published before the
	// pre-queue opened; Shuffled says the seed is revealed (see Shuffle).
	Commitment string
	Shuffled   bool
	// Keep is how long the place is kept without a poll, whatever its state (keep); a
	// quarter of it is how often a polling place is written back (touchEvery).
	Keep time.Duration
	// Soonest is the least time before a waiting place can be admitted while the places
	// ahead of it are admitted in turn: they go at the set rate, which the ticks never
	// exceed but by the credit a stall banks (maxCreditSeconds of admissions). Places
	// ahead that leave the line (pages closed past their grace, students let through by
	// staff) bring it sooner, as does a higher rate set meanwhile.
	Soonest time.Duration
}

// Status reports a place from the cache and notes the student is still there. It reads
// no database.
func (r *Room) Status(p Place) Status {
	r.markSeen(p.Ticket)
	r.mu.RLock()
	defer r.mu.RUnlock()
	w := r.windows[p.Window]
	t, ok := r.tickets[p.Ticket]
	if w == nil || !ok || t.user != p.User {
		return Status{}
	}
	st := Status{Known: true, Opens: w.OpensAt, Paused: w.Paused, Commitment: w.ShuffleCommitment, Shuffled: w.ShuffledAt.Valid,
		Keep: keep(w)}
	switch {
	case t.state == admitted:
		st.State = Admitted
	case t.state == expired || t.state == done:
		st.State = Lost
	case r.now().Before(w.OpensAt):
		st.State = Prequeue
	case t.position == 0:
		st.State = Joining // ordered at the next tick
	default:
		st.State = Waiting
		st.Position = w.line.rank(t.position)
		if rate, measured := w.rate(); rate > 0 {
			st.Wait = time.Duration(float64(st.Position) / rate * float64(time.Second))
			st.Measured = measured
		}
		if w.AdmitPerSecond > 0 {
			ahead := float64(st.Position-1)/w.AdmitPerSecond - maxCreditSeconds
			st.Soonest = time.Duration(max(0, ahead) * float64(time.Second))
		}
	}
	return st
}

// measured is the admissions per second over the last ten seconds; 0 before there is a
// measurement.
func (w *window) measured() float64 {
	if n := len(w.admissions); n >= 2 {
		first, last := w.admissions[0], w.admissions[n-1]
		if d := last.at.Sub(first.at).Seconds(); d >= 1 && last.total > first.total {
			return float64(last.total-first.total) / d
		}
	}
	return 0
}

// rate is the measured admission rate (measured), or the set rate before there is a
// measurement.
func (w *window) rate() (rate float64, measured bool) {
	if m := w.measured(); m > 0 {
		return m, true
	}
	if w.Paused {
		return 0, false
	}
	return w.AdmitPerSecond, false
}

// Seen notes that an admitted student is still active (a registration request).
func (r *Room) Seen(p Place) { r.markSeen(p.Ticket) }

// seenCompactAt is the length from which a full seen list drops its repeats before it
// grows: far more than the polls between two write-backs.
const seenCompactAt = 1 << 20

func (r *Room) markSeen(ticket int64) {
	r.seenMu.Lock()
	if len(r.seen) == cap(r.seen) && len(r.seen) >= seenCompactAt {
		// A write-back that hangs must not let the list grow with every poll: the
		// repeats go, leaving one entry a place at most.
		slices.Sort(r.seen)
		r.seen = slices.Compact(r.seen)
	}
	r.seen = append(r.seen, ticket)
	r.seenMu.Unlock()
}

// Token returns the poll token of a place; ParseToken reads one.
func (r *Room) Token(p Place) string                   { return r.signer.Token(p) }
func (r *Room) ParseToken(token string) (Place, error) { return r.signer.ParseToken(token) }

// Enter checks with the database that the place is admitted and returns a pass for it.
func (r *Room) Enter(ctx context.Context, p Place) (string, time.Time, error) {
	t, err := r.q.GetTicket(ctx, db.GetTicketParams{WindowID: p.Window, UserID: p.User})
	if errors.Is(err, sql.ErrNoRows) || err == nil && (t.ID != p.Ticket || t.State != db.WaitingRoomTicketsStateAdmitted || !t.PassExpiresAt.Valid) {
		return "", time.Time{}, ErrNotAdmitted
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read place: %w", err)
	}
	return r.signer.Pass(p, t.PassExpiresAt.Time), t.PassExpiresAt.Time, nil
}

// ErrNotAdmitted means the place has not been admitted (or no longer is).
var ErrNotAdmitted = errors.New("waiting room: not admitted")

// CheckPass returns the place of a valid pass for this student and window.
func (r *Room) CheckPass(pass string, windowID, userID int64) (Place, error) {
	return r.signer.CheckPass(pass, windowID, userID, r.now())
}

// Finish frees the student's slot when they are done registering.
// Like every change to places outside a tick, it is retried if it deadlocks with one.
func (r *Room) Finish(ctx context.Context, windowID, userID int64) error {
	return db.InTx(ctx, r.txdb, func(q *db.Queries) error {
		// Sent with the COMMIT (db.Deferred): one round trip.
		return q.FinishTicket(db.Deferred(ctx), db.FinishTicketParams{Now: r.now().UTC(), WindowID: windowID, UserID: userID})
	})
}
