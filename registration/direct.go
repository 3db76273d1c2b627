package registration

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/schoolservice/school/db"
)

// A registration for a section with seats to spare skips the glance: its transaction's
// first statement, the student's lock (LockStudentRecord), reads in the same round
// trip what the glance would have, and the glance's answers come from the rules under the
// lock instead. The glance is for sections that are full or nearly so, where it answers
// full without a lock, which is most of a rush; for the others it is a statement each
// request pays and no answer comes from. Measured in BENCHMARKS.md ("eleventh").
//
// A request to join a waitlist skips it wherever the section may be: it comes after a
// full answer, so it takes the student's lock anyway, and the glance would answer alone
// only a double click (its key) or a click the rules refuse, which the transaction
// answers too. Measured in BENCHMARKS.md ("thirteenth").
//
// Nothing is decided from what this replica saw: the conditional UPDATE takes the seat
// or answers full, the key's record replays a double click, and the rules are checked
// against a catalog at least as new as the version read under the lock. What the glance
// alone decides (a closed window, a section not of the current term, one with quotas)
// sends the request back to the glance, rolled back (errGlanceFirst).

// directRoom is how many seats this replica must last have seen free in a section for a
// registration to skip the glance: two replicas' gates (gateSlots each) full of requests
// for it would not take them all, so one that skipped seldom finds the section full
// under the lock (then it answers full as before the glance existed, from its
// transaction).
const directRoom = 2 * gateSlots

// errGlanceFirst: what the lock read calls for the glance's answer.
var errGlanceFirst = errors.New("the request needs the glance")

// seatHints are the seats left in each section as this replica last saw them answering a
// request (a glance, a lock's read, a seat taken): never an answer, only which way to
// read.
type seatHints struct {
	m sync.Map // section id → *atomic.Int32
}

func (h *seatHints) saw(section int64, left int) {
	if v, ok := h.m.Load(section); ok {
		v.(*atomic.Int32).Store(int32(left))
		return
	}
	n := new(atomic.Int32)
	n.Store(int32(left))
	h.m.Store(section, n)
}

func (h *seatHints) roomy(section int64) bool {
	v, ok := h.m.Load(section)
	return ok && v.(*atomic.Int32).Load() >= directRoom
}

// skipGlance returns the registration's or waitlist join's request ready for its
// transaction without a glance, or nil when it should glance first: a registration for a
// section not last seen with room or with requests waiting at its gate, a section the
// catalog does not have in the current term, one with quotas (their live counters are
// the glance's), a request without a key, and a key this replica answered from a glance.
func (s *Service) skipGlance(r Request, kind db.RegistrationRequestsAction) *request {
	cat := s.catalog.cur.Load()
	if cat == nil {
		return nil
	}
	switch kind {
	case db.RegistrationRequestsActionRegister:
		if !s.hints.roomy(r.SectionID) {
			return nil
		}
		// Requests queued at the section's gate: it is in demand, and may be full before
		// this one's turn, which the glance answers without a lock. (One rehearsal each
		// way could not tell the check's effect from the machine's drift:
		// BENCHMARKS.md, "eleventh".)
		if waiting, _ := s.gates.of(r.SectionID).slots.Queue(); waiting > 0 {
			return nil
		}
	case db.RegistrationRequestsActionWaitlist:
		// Wherever the section stands: a join takes the student's lock in any case.
	default:
		return nil
	}
	sec := cat.sections[r.SectionID]
	if sec == nil || !sec.current || len(sec.quotas) > 0 {
		return nil
	}
	// Only a keyed request: when its commit's outcome is unknown, the retry finds the
	// key, whatever the glance it may be sent back to would say of the window by then.
	if r.Key == "" {
		return nil
	}
	if _, ok := s.unwritten.recall(r.StudentID, r.Key); ok {
		return nil
	}
	return &request{Request: r, kind: kind, cat: cat, sec: sec, first: true}
}

// transactFirst runs the transaction of a request that skipped the glance, and when its
// lock's read called for the glance (errGlanceFirst), the glance and, if that does not
// answer alone, the transaction again.
func (s *Service) transactFirst(ctx context.Context, req *request, out Outcome, act action) (Outcome, error) {
	out, err := s.transact(ctx, req, out, act)
	if !errors.Is(err, errGlanceFirst) {
		return out, err
	}
	s.metrics.reads.WithLabelValues(string(req.kind), "lock_then_glance").Inc()
	if req, out, err = s.glance(ctx, req.Request, req.kind); err != nil || out.Result != "" {
		return out, err
	}
	return s.transact(ctx, req, out, act)
}

// lockFirst is lockRecord for a request that skipped the glance: it takes from the lock's
// statement the catalog version, the section's seats and the basket too, which lockRecord
// leaves, and sends the request back to the glance (errGlanceFirst) when the glance would
// answer it alone or this replica's catalog is older than the version.
func (s *Service) lockFirst(ctx context.Context, q *db.Queries, req *request, out *Outcome) error {
	row, err := q.LockStudentRecord(ctx, db.LockStudentRecordParams{TermID: req.sec.termID, SectionID: req.sec.ID, ID: req.StudentID})
	if err != nil {
		return err
	}
	req.st = db.LockStudentRow{ID: row.ID, Role: row.Role, ClassYear: row.ClassYear, CreditLimit: row.CreditLimit}
	if row.Role != db.UsersRoleStudent {
		return nil
	}
	// A catalog older than the version read is loaded by the glance, which holds no
	// connection meanwhile: loading it here, under the lock, would take a second
	// connection for every request that read the new version before the load.
	cat := s.catalog.cur.Load()
	if cat == nil || cat.version < row.Version {
		return errGlanceFirst
	}
	sec := cat.sections[req.SectionID]
	if sec == nil || !sec.current || len(sec.quotas) > 0 || sec.termID != req.sec.termID ||
		!cat.windowOpen(sec.termID, int(row.ClassYear.Int16), s.now().UTC()) {
		return errGlanceFirst
	}
	req.cat, req.sec = cat, sec
	if err := s.readRecord(ctx, req, row); err != nil {
		return err
	}
	out.Section, out.Meetings = sec.Section, sec.meetings
	capacity, taken := row.Seats>>32, row.Seats&(1<<32-1)
	out.Section.Capacity = int(capacity)
	out.SeatsLeft = max(0, int(capacity-taken))
	out.Found = Standing{InBasket: row.InBasket != 0}
	for _, h := range req.rec.held {
		out.Found.Registered = out.Found.Registered || h.ID == sec.ID
	}
	return nil
}
