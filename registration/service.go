package registration

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
)

// ErrNotStudent means the account is not a student's: only students register.
var ErrNotStudent = errors.New("only students can register")

// Service applies registration requests.
type Service struct {
	db *sql.DB
	// txdb runs the students' transactions (transact), with txPrepared their statements
	// prepared on its connections: db, or a TxOnly pool (TransactOn).
	txdb       *sql.DB
	txPrepared *db.Prepared
	log        *slog.Logger
	metrics    *metrics
	now        func() time.Time
	latency    latency
	pace       sync.Map // window id → *pacer
	// lastWaits is txdb's wait count when Pace last looked.
	lastWaits atomic.Int64
	// queueDelay is how long requests wait now for their turn at the database ahead of
	// the pool (SetQueue); nil: they wait in the pool.
	queueDelay func(now time.Time) time.Duration
	catalog    catalogCache
	baskets    basketCounts
	unwritten  unwritten
	flights    flights
	gates      gates
	hints      seatHints
	// prepared runs the hottest statements, the glance and those of the students'
	// transactions, as server-side prepared statements; reads is the glance's Queries.
	prepared *db.Prepared
	reads    *db.Queries
}

// New returns a Service whose metrics are registered on reg.
func New(sqldb *sql.DB, log *slog.Logger, reg prometheus.Registerer) *Service {
	s := &Service{db: sqldb, log: log, metrics: newMetrics(reg), now: time.Now, prepared: db.NewPrepared(sqldb)}
	s.reads = s.prepared.Queries()
	s.txdb, s.txPrepared = sqldb, s.prepared
	s.catalog.db = sqldb
	return s
}

// TransactOn runs the students' transactions (registering, joining and leaving a
// waitlist, dropping) on txdb, a pool opened with db.PoolOptions.TxOnly: each begins
// without a round trip of its own. Call it before the first request.
func (s *Service) TransactOn(txdb *sql.DB) {
	s.txdb, s.txPrepared = txdb, db.NewPrepared(txdb)
}

// SetQueue tells the pacer how long requests wait now for their turn at the database,
// when they wait ahead of the pool (which then has no waiters). Set it before the first
// Pace.
func (s *Service) SetQueue(delay func(now time.Time) time.Duration) { s.queueDelay = delay }

// SetClock replaces the clock the registration windows are checked against (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Register takes a seat in the section if every rule allows it.
func (s *Service) Register(ctx context.Context, r Request) (Outcome, error) {
	return s.apply(ctx, r, db.RegistrationRequestsActionRegister, s.enroll)
}

// JoinWaitlist queues the student for a full section; when a seat is open it registers
// instead, which is what the student wanted.
func (s *Service) JoinWaitlist(ctx context.Context, r Request) (Outcome, error) {
	return s.apply(ctx, r, db.RegistrationRequestsActionWaitlist, s.joinWaitlist)
}

// Drop gives the seat up; a waiting student gets it before anyone else can. A replayed
// drop promotes too: the first may have committed without its answer arriving (a commit
// whose outcome was unknown, retried), and a promotion with nothing held does nothing.
func (s *Service) Drop(ctx context.Context, r Request) (Outcome, error) {
	out, err := s.apply(ctx, r, db.RegistrationRequestsActionDrop, s.drop)
	if err == nil && out.Result == Dropped {
		s.PromoteNow(ctx, r.SectionID)
	}
	return out, err
}

// LeaveWaitlist takes the student off the section's waitlist.
func (s *Service) LeaveWaitlist(ctx context.Context, r Request) (Outcome, error) {
	return s.apply(ctx, r, db.RegistrationRequestsActionLeave, s.leaveWaitlist)
}

// MaxKeyLen is the longest request key the record holds (registration_requests.request_key).
const MaxKeyLen = 64

// request is one request on its way through apply: what its first read found and the
// catalog it is checked against; under the lock, the student's row.
type request struct {
	Request
	kind  db.RegistrationRequestsAction
	found db.RegistrationGlanceRow
	cat   *Catalog
	sec   *catalogSection // nil when the catalog has no such section (leave only)
	// Under the lock: the student's row, and for the requests whose rules read it, their
	// record (lockRecord).
	st  db.LockStudentRow
	rec record
	// quotas are the quotas a registration's seat may come from, in the order they are
	// tried, chosen at the glance (none: an open seat); dropQuota, under a drop's lock, is
	// the quota the seat came from.
	quotas    []*quota
	dropQuota sql.NullInt64
	// source is what the enrollment records, when not a student's own registration.
	source db.EnrollmentsSource
	// first: the request skipped the glance (direct.go), its lock reads what it would have.
	first bool
}

type action func(ctx context.Context, q *db.Queries, req *request, out *Outcome) error

// apply answers one request. The first statement is one plain read (glance), which alone
// answers whatever it can decide: a replayed key, an unknown section, a closed window, a
// section the student holds, and a full one. The rest is one transaction: lock the
// student, apply the action, record the answer under the key. A registration for a
// section with seats to spare skips the glance (direct.go).
func (s *Service) apply(ctx context.Context, r Request, kind db.RegistrationRequestsAction, act action) (Outcome, error) {
	if len(r.Key) > MaxKeyLen {
		return Outcome{Result: Invalid, Section: Section{ID: r.SectionID}, SeatsLeft: -1}, nil
	}
	answer := func() (Outcome, error) { return s.answer(ctx, r, kind, act) }
	var (
		out Outcome
		err error
	)
	if r.Key == "" {
		out, err = answer()
	} else {
		out, err = s.flights.do(ctx, flightKey{r.StudentID, r.Key, kind, r.SectionID}, answer)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("%s section %d for student %d: %w", kind, r.SectionID, r.StudentID, err)
	}
	s.metrics.observe(kind, out)
	if out.SeatsLeft >= 0 && out.Section.CourseCode != "" {
		s.hints.saw(r.SectionID, out.SeatsLeft)
	}
	return out, nil
}

// answer is apply's work for one request: the glance (unless skipGlance says the
// transaction's lock reads what it would), and the transaction when the glance cannot
// answer alone.
func (s *Service) answer(ctx context.Context, r Request, kind db.RegistrationRequestsAction, act action) (Outcome, error) {
	start := time.Now()
	var (
		req  = s.skipGlance(r, kind)
		out  = Outcome{Section: Section{ID: r.SectionID}, SeatsLeft: -1}
		err  error
		read = "lock"
	)
	if req == nil {
		read = "glance"
		req, out, err = s.glance(ctx, r, kind)
	}
	s.metrics.reads.WithLabelValues(string(kind), read).Inc()
	if err == nil && out.Result == "" && kind == db.RegistrationRequestsActionRegister {
		return s.gated(ctx, r, start, req, out, act)
	}
	if err == nil && out.Result == "" {
		out, err = s.transactFirst(ctx, req, out, act)
		// The pace follows the requests that took locks: answers from the glance alone are
		// cheap whatever the load on the seats. A failed one (a database outage waited
		// out) says nothing of the load once the database is back.
		if err == nil {
			now := time.Now()
			s.latency.observe(now, now.Sub(start))
		}
	}
	return out, err
}

// gated runs a registration's transaction once its section's gate lets it in (gates).
// When the section answered full after this request's read began (start), it reads the
// section again first, holding its place (the read locks nothing), and goes on to the
// transaction only if that read still finds a seat.
func (s *Service) gated(ctx context.Context, r Request, start time.Time, req *request, out Outcome, act action) (Outcome, error) {
	g := s.gates.of(r.SectionID)
	if err := g.enter(ctx); err != nil {
		return Outcome{}, err
	}
	defer g.leave()
	if g.fullSince(start) {
		var err error
		if req, out, err = s.glance(ctx, r, req.kind); err != nil || out.Result != "" {
			if err == nil {
				s.metrics.regated.Inc()
			}
			return out, err
		}
	}
	out, err := s.transactFirst(ctx, req, out, act)
	if err == nil {
		now := time.Now()
		if out.Result == Full {
			g.full(now)
		}
		s.latency.observe(now, now.Sub(start))
	}
	return out, err
}

// glance reads RegistrationGlance and checks it against a catalog at least as new as the
// version it read. It answers from that read alone, writing nothing and locking nothing,
// what the read decides: a key answered before (by the record, or by this replica from a
// read like this one), an unknown section or one of another term, a closed window, a
// section the student holds or another section of its course, and for a registration, a
// section with no seat left that the student may use (a seat held for the waitlist is
// taken; a seat reserved for a quota is free only to the students it fits: quota.go).
// Such an answer is true of the moment of the read. out.Result is empty when the
// request needs its transaction.
func (s *Service) glance(ctx context.Context, r Request, kind db.RegistrationRequestsAction) (*request, Outcome, error) {
	g, err := s.reads.RegistrationGlance(ctx, db.RegistrationGlanceParams{UserID: r.StudentID, SectionID: r.SectionID, RequestKey: r.Key})
	if err != nil {
		return nil, Outcome{}, fmt.Errorf("glance: %w", err)
	}
	if !g.Role.Valid || g.Role.UsersRole != db.UsersRoleStudent {
		return nil, Outcome{}, ErrNotStudent
	}
	cat, err := s.catalog.atLeast(ctx, g.Version)
	if err != nil {
		return nil, Outcome{}, err
	}
	req := &request{Request: r, kind: kind, found: g, cat: cat}
	out := Outcome{Section: Section{ID: r.SectionID}, SeatsLeft: -1,
		Found: Standing{Registered: g.SectionID.Valid && g.HeldSectionID == r.SectionID, Position: int(g.Position), InBasket: g.InBasket != 0}}
	if sec := cat.sections[r.SectionID]; sec != nil && g.SectionID.Valid {
		req.sec = sec
		out.Section, out.Meetings = sec.Section, sec.meetings
		out.Section.Capacity = int(g.Capacity.Int32)
		live := seats{capacity: int(g.Capacity.Int32), enrolled: int(g.Enrolled.Int32), held: int(g.Held.Int32),
			reserved: int(g.Reserved), taken: parseTaken(text(g.QuotaEnrolled))}
		req.quotas, out.SeatsLeft = sec.choose(int(g.ClassYear.Int16), g.DepartmentID.Int64, live)
	}
	if g.KeyAction.Valid {
		replay(&out, kind, r.SectionID, g.KeyAction.RegistrationRequestsAction, g.KeySectionID.Int64, Result(g.KeyResult.String))
		return req, out, nil
	}
	if r.Key != "" {
		if a, ok := s.unwritten.recall(r.StudentID, r.Key); ok {
			replay(&out, kind, r.SectionID, a.action, a.section, a.result)
			return req, out, nil
		}
	}
	s.decide(req, &out)
	if out.Result != "" && r.Key != "" {
		s.unwritten.remember(r.StudentID, r.Key, unwrittenAnswer{action: kind, section: r.SectionID, result: out.Result}, time.Now())
	}
	return req, out, nil
}

// replay gives the answer recorded under the request's key, or Invalid when the key was
// used for another request.
func replay(out *Outcome, kind db.RegistrationRequestsAction, section int64, prevKind db.RegistrationRequestsAction, prevSection int64, prev Result) {
	if prevKind != kind || prevSection != section {
		out.Result = Invalid
		return
	}
	out.Result, out.Replayed = prev, true
}

// decide answers what the glance alone can (see glance), in the order a transaction
// would: out.Result stays empty when the request needs the student's lock.
func (s *Service) decide(req *request, out *Outcome) {
	g, sec := req.found, req.sec
	if req.kind == db.RegistrationRequestsActionLeave {
		// Leaving looks only for a waitlist entry, in any term.
		if g.Position == 0 {
			out.Result = NotFound
		}
		return
	}
	switch {
	case sec == nil:
		out.Result = NotFound
	case !sec.current:
		out.Result, out.NotInTerm = NotFound, true
	case !req.cat.windowOpen(sec.termID, int(g.ClassYear.Int16), s.now().UTC()):
		out.Result = WindowClosed
	case req.kind == db.RegistrationRequestsActionDrop:
		if g.HeldSectionID != sec.ID {
			out.Result = NotFound
		}
	case g.HeldSectionID == sec.ID:
		out.Result = Enrolled
	case g.HeldSectionID != 0:
		out.Result, out.Other = Duplicate, req.cat.label(g.HeldSectionID)
	case req.kind == db.RegistrationRequestsActionRegister && out.SeatsLeft == 0:
		out.Result = Full
	}
}

// transact runs the request's transaction from the outcome the glance began: lock the
// student's row, apply the action, record the answer under the key. The key's UNIQUE
// record is what makes a double click act once: the second request's transaction fails
// on it, is rolled back whole, and answers with the first one's answer. The same makes
// it safe to run again after a COMMIT whose outcome is unknown (db.Idempotent): if it
// landed, the second run finds the key and answers as the first did; without a key it
// finds the seat held (enrolled) or the enrollment gone (not_found), never acts twice.
func (s *Service) transact(ctx context.Context, req *request, base Outcome, act action) (Outcome, error) {
	var out Outcome
	lock := s.lockRecord
	switch req.kind {
	case db.RegistrationRequestsActionDrop:
		lock = lockForDrop
	case db.RegistrationRequestsActionLeave:
		lock = lockStudent
	}
	err := db.InTx(ctx, s.txdb, func(q *db.Queries) error {
		out = base
		var err error
		if req.first {
			err = s.lockFirst(ctx, q, req, &out)
		} else {
			err = lock(ctx, q, req)
		}
		if errors.Is(err, sql.ErrNoRows) || err == nil && req.st.Role != db.UsersRoleStudent {
			return ErrNotStudent
		}
		if err != nil {
			return fmt.Errorf("lock student %d: %w", req.StudentID, err)
		}
		if err := act(ctx, q, req, &out); err != nil {
			return err
		}
		if req.Key != "" {
			// Sent with the COMMIT (db.Deferred): a key taken fails the COMMIT.
			err := q.SaveRequestResult(db.Deferred(ctx), db.SaveRequestResultParams{UserID: req.StudentID, RequestKey: req.Key,
				Action: req.kind, SectionID: req.SectionID, Result: string(out.Result)})
			if err != nil {
				return fmt.Errorf("record request key: %w", err)
			}
		}
		return nil
	}, db.OnRetry(func(error) { s.metrics.retries.Inc() }), db.Idempotent(), db.UsePrepared(s.txPrepared))
	// A duplicate is the key's, recorded by another request between this one's first read
	// and its commit (the other half of a double click): the transaction's other writes
	// are checked under the student's lock before they are made. Should one of them be
	// the duplicate all the same, the glance finds no answer under the key and says so.
	if req.Key != "" && db.IsDuplicate(err) {
		// Read again: the glance now finds the key, and where the student stands after it.
		dup := err
		if _, out, err = s.glance(ctx, req.Request, req.kind); err == nil && out.Result == "" {
			err = fmt.Errorf("no answer under request key %q after the transaction failed on a duplicate: %w", req.Key, dup)
		}
	}
	return out, err
}

// describe fills in the section the outcome is about, as the staff's transaction read it.
func describe(sec db.GetSectionForRegistrationRow, out *Outcome) {
	out.Section = Section{ID: sec.ID, CourseCode: sec.CourseCode, Number: sec.Number, Credits: int(sec.Credits),
		Title: sec.Title, Department: sec.DepartmentCode, Instructor: sec.Instructor, Room: sec.Room, Capacity: int(sec.Capacity)}
	out.SeatsLeft = max(0, int(sec.Capacity-sec.Enrolled-sec.Held)-int(sec.Reserved))
}

// record is what the rules need of the student's own record, read under their lock.
type record struct {
	held    []*catalogSection // the sections held in the wanted section's term
	entry   int64             // their entry on the wanted section's waitlist, of any status (0: none)
	waiting bool              // that entry is waiting
	// courseOK: courseRules passed in this transaction, so a second check of the rules
	// (a quota seat tried, then an open one) does not read the completed courses again.
	courseOK bool
}

// lockStudent locks the student's row, the first lock of every transaction (the lock
// order: student, then section), for the requests whose rules need no more of them.
func lockStudent(ctx context.Context, q *db.Queries, req *request) error {
	st, err := q.LockStudent(ctx, req.StudentID)
	req.st = st
	return err
}

// lockForDrop locks the student's row and reads the quota their seat in the section came
// from, in one statement.
func lockForDrop(ctx context.Context, q *db.Queries, req *request) error {
	row, err := q.LockStudentForDrop(ctx, db.LockStudentForDropParams{SectionID: req.SectionID, ID: req.StudentID})
	req.st = db.LockStudentRow{ID: row.ID, Role: row.Role, ClassYear: row.ClassYear, CreditLimit: row.CreditLimit}
	req.dropQuota = row.QuotaID
	return err
}

// lockRecord locks the student's row and reads their record in the same statement
// (LockStudentRecord); the catalog says what the sections held are and when they meet.
func (s *Service) lockRecord(ctx context.Context, q *db.Queries, req *request) error {
	row, err := q.LockStudentRecord(ctx, db.LockStudentRecordParams{TermID: req.sec.termID, SectionID: req.sec.ID, ID: req.StudentID})
	if err != nil {
		return err
	}
	req.st = db.LockStudentRow{ID: row.ID, Role: row.Role, ClassYear: row.ClassYear, CreditLimit: row.CreditLimit}
	return s.readRecord(ctx, req, row)
}

// readRecord fills in the record the lock's statement read: the sections held, the
// student's entry on the section's waitlist and whether it is waiting (one number: the
// entry's id times two, plus one while it waits).
func (s *Service) readRecord(ctx context.Context, req *request, row db.LockStudentRecordRow) error {
	req.rec = record{entry: row.Waitlist >> 1, waiting: row.Waitlist&1 != 0}
	var ids []int64
	for f := range strings.SplitSeq(text(row.Held), ",") {
		id, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			continue // no section held: ""
		}
		ids = append(ids, id)
		if req.cat.sections[id] != nil {
			continue
		}
		// Held in a section added after this request's first read, by the student's other
		// tab: the catalog that has it is loaded, under the student's lock, which is rare
		// enough to afford.
		cat, err := s.catalog.reload(ctx, func(c *Catalog) bool { return c.sections[id] != nil })
		if err != nil {
			return err
		}
		if cat.sections[id] == nil || cat.sections[req.sec.ID] == nil {
			return fmt.Errorf("section %d is held but not in the catalog", id)
		}
		req.cat, req.sec = cat, cat.sections[req.sec.ID]
	}
	for _, id := range ids {
		req.rec.held = append(req.rec.held, req.cat.sections[id])
	}
	return nil
}

// check applies the rules that depend on the student's own record, read under their
// lock (lockRecord): one section per course, prerequisites, time conflicts, the credit
// limit. It sets
// out.Result when one refuses (Enrolled when the student already holds this very
// section).
func check(ctx context.Context, q *db.Queries, req *request, out *Outcome) error {
	if decided, err := courseRules(ctx, q, req, out); err != nil || decided {
		return err
	}
	if other := conflict(req.rec.held, req.sec); other != nil {
		out.Result, out.Other = TimeConflict, other.Label()
		return nil
	}
	used := 0
	for _, h := range req.rec.held {
		used += h.Credits
	}
	out.CreditsUsed, out.CreditLimit, out.CreditsKnown = used, int(req.st.CreditLimit), true
	if used+req.sec.Credits > int(req.st.CreditLimit) {
		out.Result = CreditLimit
	}
	return nil
}

// facts reads what the staff's rules need from the student's record in one round trip.
// Staff enroll in any term's section on the registrar's word; the students' own requests
// use check, against the catalog.
func facts(ctx context.Context, q *db.Queries, st db.LockStudentRow, sec db.GetSectionForRegistrationRow) (db.RegistrationFactsRow, error) {
	f, err := q.RegistrationFacts(ctx, db.RegistrationFactsParams{UserID: st.ID, CourseID: sec.CourseID, TermID: sec.TermID, SectionID: sec.ID})
	if err != nil {
		return f, fmt.Errorf("registration facts: %w", err)
	}
	return f, nil
}

// courseRules applies what waiting for a seat would not change: one section per course,
// and the prerequisites, whose completed courses are read only when the course has some.
// It reports whether a rule decided the outcome.
func courseRules(ctx context.Context, q *db.Queries, req *request, out *Outcome) (bool, error) {
	if req.rec.courseOK {
		return false, nil
	}
	for _, h := range req.rec.held {
		switch {
		case h.ID == req.sec.ID:
			out.Result = Enrolled
			return true, nil
		case h.courseID == req.sec.courseID:
			out.Result, out.Other = Duplicate, h.Label()
			return true, nil
		}
	}
	pre := req.cat.prereqs[req.sec.courseID]
	if len(pre) == 0 {
		req.rec.courseOK = true
		return false, nil
	}
	ids := make([]int64, len(pre))
	for i, p := range pre {
		ids[i] = p.courseID
	}
	done, err := q.CompletedAmong(ctx, db.CompletedAmongParams{UserID: req.st.ID, CourseIds: ids})
	if err != nil {
		return false, fmt.Errorf("completed courses: %w", err)
	}
	var missing []string
	for _, p := range pre {
		if !slices.Contains(done, p.courseID) {
			missing = append(missing, p.code)
		}
	}
	if len(missing) == 0 {
		req.rec.courseOK = true
		return false, nil
	}
	out.Result, out.Missing = Prerequisite, missing
	return true, nil
}

// text reads a string column that sqlc could only type as interface{}.
func text(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}

// enroll checks the rules, then takes a seat: the conditional UPDATE is what makes
// overselling impossible, whatever ran concurrently, and the UNIQUE keys of enrollments
// stand behind it. A seat of the student's quota is tried first when the glance found
// one (quota.go), then an open seat.
func (s *Service) enroll(ctx context.Context, q *db.Queries, req *request, out *Outcome) error {
	if err := check(ctx, q, req, out); err != nil || out.Result != "" {
		return err
	}
	sec := req.sec
	quotaID, err := takeSeat(ctx, q, sec.ID, req.quotas)
	if errors.Is(err, errFull) {
		out.Result, out.SeatsLeft = Full, 0
		return nil
	}
	if err != nil {
		return err
	}
	// The seat is taken; the enrollment's row goes with the transaction's next statement
	// (db.Deferred), the request key's and the COMMIT, most often.
	if err := insertEnrollment(db.Deferred(ctx), q, db.InsertEnrollmentParams{UserID: req.st.ID, SectionID: sec.ID, CourseID: sec.courseID,
		TermID: sec.termID, Source: cmp.Or(req.source, db.EnrollmentsSourceRegister)}, quotaID); err != nil {
		return err
	}
	if req.rec.waiting {
		if err := q.MarkWaitlistEnrolled(ctx, db.MarkWaitlistEnrolledParams{UserID: req.st.ID, SectionID: sec.ID}); err != nil {
			return fmt.Errorf("close waitlist entry: %w", err)
		}
	}
	out.Result = Enrolled
	out.CreditsUsed += sec.Credits
	out.SeatsLeft = max(0, out.SeatsLeft-1)
	return nil
}

// joinWaitlist gives the student a seat when one is open to them, and otherwise a place
// on the section's waitlist (the one they hold, when already waiting). What needs no seat
// count is decided before the section's row is locked, so that lock, which every request
// for a full section waits for, is held for the waitlist's own statements only.
func (s *Service) joinWaitlist(ctx context.Context, q *db.Queries, req *request, out *Outcome) error {
	sec := req.sec
	if !req.rec.waiting {
		// Holding a seat in the course, or missing a prerequisite, makes waiting
		// pointless; conflicts and credits are checked when a seat frees.
		if decided, err := courseRules(ctx, q, req, out); err != nil || decided {
			return err
		}
	}
	if len(req.quotas) > 0 {
		// A seat of the student's quotas was free at the read: they are tried before the
		// section is locked (the lock order: quota, then section). A retried transaction
		// tries them again.
		defer func(qts []*quota) { req.quotas = qts }(req.quotas)
		if err := s.enroll(ctx, q, req, out); err != nil || out.Result != Full {
			return err
		}
		out.Result, req.quotas = "", nil
	}
	// The section row is locked before the seat count is read, so a drop that frees a seat
	// either sees this entry or comes after it. A seat reserved for a quota is not open.
	locked, err := q.LockSectionSeats(ctx, sec.ID)
	if err != nil {
		return fmt.Errorf("lock section: %w", err)
	}
	open := locked.Capacity - locked.Enrolled - locked.Held - int32(locked.Reserved)
	out.Section.Capacity, out.SeatsLeft = int(locked.Capacity), max(0, int(open))
	if open > 0 {
		return s.enroll(ctx, q, req, out)
	}
	entry := req.rec.entry
	var ahead int64
	if !req.rec.waiting {
		if entry != 0 {
			// Left or skipped before: rejoining is a new row at the back of the queue.
			n, err := q.ClearOldWaitlistEntry(ctx, entry)
			if err != nil {
				return fmt.Errorf("clear old waitlist entry: %w", err)
			}
			if n == 0 {
				// Every writer of a student's entry holds their lock, as this one does.
				return fmt.Errorf("waitlist entry %d changed under the student's lock", entry)
			}
		}
		// The entry's INSERT travels with the count of those ahead of it (db.Deferred).
		if err := q.JoinWaitlist(db.Deferred(ctx), db.JoinWaitlistParams{UserID: req.st.ID, SectionID: sec.ID}); err != nil {
			return fmt.Errorf("join waitlist: %w", err)
		}
		ahead, err = q.WaitlistAheadOfNew(ctx, sec.ID)
	} else {
		ahead, err = q.WaitlistPosition(ctx, db.WaitlistPositionParams{SectionID: sec.ID, ID: entry})
	}
	if err != nil {
		return fmt.Errorf("waitlist position: %w", err)
	}
	out.Result, out.Position, out.SeatsLeft = Waitlisted, int(ahead)+1, 0
	return nil
}

func (s *Service) drop(ctx context.Context, q *db.Queries, req *request, out *Outcome) error {
	return freeSeat(ctx, q, req.st, req.dropQuota, req.sec.ID, req.sec.termID, out)
}

// giveUpSeat is freeSeat for the staff's drop, which loads the section in SQL.
func giveUpSeat(ctx context.Context, q *db.Queries, st db.LockStudentRow, sec db.GetSectionForRegistrationRow, out *Outcome) error {
	quotaID, err := q.EnrollmentQuota(ctx, db.EnrollmentQuotaParams{UserID: st.ID, SectionID: sec.ID})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("quota of the enrollment: %w", err)
	}
	return freeSeat(ctx, q, st, quotaID, sec.ID, sec.TermID, out)
}

// freeSeat deletes the student's enrollment in the section and frees the seat, or holds
// it for the first waiting student; the caller runs Promote after the commit. A seat that
// came from a quota (quotaID, read under the student's lock) goes back to that quota
// while the quotas hold, never to the waitlist (quota.go).
func freeSeat(ctx context.Context, q *db.Queries, st db.LockStudentRow, quotaID sql.NullInt64, sectionID, termID int64, out *Outcome) error {
	if quotaID.Valid {
		// The quota's row before the section's: the lock order.
		n, err := q.GiveBackQuotaSeat(ctx, quotaID.Int64)
		if err != nil {
			return fmt.Errorf("give back quota seat: %w", err)
		}
		quotaID.Valid = n == 1
	}
	locked, err := q.LockSectionSeats(ctx, sectionID)
	if err != nil {
		return fmt.Errorf("lock section: %w", err)
	}
	n, err := q.DeleteEnrollment(ctx, db.DeleteEnrollmentParams{UserID: st.ID, SectionID: sectionID})
	if err != nil {
		return fmt.Errorf("delete enrollment: %w", err)
	}
	if n == 0 {
		if quotaID.Valid {
			// Read under the same lock a moment ago: not a refusal, a broken assumption.
			return fmt.Errorf("enrollment of quota %d is gone", quotaID.Int64)
		}
		out.Result = NotFound
		return nil
	}
	// With students waiting, the seat is held for them rather than freed for anyone.
	var hold int32
	if !quotaID.Valid || locked.Released != 0 {
		switch _, err := q.NextWaiting(ctx, sectionID); {
		case err == nil:
			hold = 1
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("waitlist: %w", err)
		}
	}
	if quotaID.Valid {
		err = q.FreeQuotaSeat(ctx, db.FreeQuotaSeatParams{Hold: hold, ID: sectionID})
	} else {
		err = q.FreeSeat(ctx, db.FreeSeatParams{Hold: hold, ID: sectionID})
	}
	if err != nil {
		return fmt.Errorf("free seat: %w", err)
	}
	used, err := q.CreditsEnrolled(ctx, db.CreditsEnrolledParams{UserID: st.ID, TermID: termID})
	if err != nil {
		return fmt.Errorf("credits: %w", err)
	}
	out.CreditsUsed, out.CreditLimit, out.CreditsKnown = int(used), int(st.CreditLimit), true
	out.Result = Dropped
	// The seats left after the drop, from the counters read under the section's lock: a
	// seat given back to its quota is kept for that quota, not free to anyone.
	reserved := locked.Reserved
	if quotaID.Valid && locked.Released == 0 {
		reserved++
	}
	out.SeatsLeft = max(0, int(locked.Capacity-(locked.Enrolled-1)-(locked.Held+hold))-int(reserved))
	return nil
}

func (s *Service) leaveWaitlist(ctx context.Context, q *db.Queries, req *request, out *Outcome) error {
	entry, err := q.GetWaitlistEntry(ctx, db.GetWaitlistEntryParams{UserID: req.st.ID, SectionID: req.SectionID})
	if errors.Is(err, sql.ErrNoRows) || err == nil && entry.Status != db.WaitlistEntriesStatusWaiting {
		out.Result = NotFound
		return nil
	}
	if err != nil {
		return fmt.Errorf("waitlist entry: %w", err)
	}
	if err := q.SetWaitlistStatus(ctx, db.SetWaitlistStatusParams{Status: db.WaitlistEntriesStatusLeft, ID: entry.ID}); err != nil {
		return fmt.Errorf("leave waitlist: %w", err)
	}
	out.Result = LeftWaitlist
	return nil
}
