package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
)

// ErrNotStudent means the account is not a student's: only students register.
var ErrNotStudent = errors.New("only students can register")

// Service applies registration requests.
type Service struct {
	db      *sql.DB
	log     *slog.Logger
	metrics *metrics
	now     func() time.Time
	latency latency
	// lastWaits is the pool's wait count when Health last looked.
	lastWaits atomic.Int64
}

// New returns a Service whose metrics are registered on reg.
func New(sqldb *sql.DB, log *slog.Logger, reg prometheus.Registerer) *Service {
	return &Service{db: sqldb, log: log, metrics: newMetrics(reg), now: time.Now}
}

// SetClock replaces the clock the registration windows are checked against (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Register takes a seat in the section if every rule allows it.
func (s *Service) Register(ctx context.Context, r Request) (Outcome, error) {
	return s.apply(ctx, r, db.RegistrationRequestsActionRegister, s.register)
}

// JoinWaitlist queues the student for a full section; when a seat is open it registers
// instead, which is what the student wanted.
func (s *Service) JoinWaitlist(ctx context.Context, r Request) (Outcome, error) {
	return s.apply(ctx, r, db.RegistrationRequestsActionWaitlist, s.joinWaitlist)
}

// Drop gives the seat up; a waiting student gets it before anyone else can.
func (s *Service) Drop(ctx context.Context, r Request) (Outcome, error) {
	out, err := s.apply(ctx, r, db.RegistrationRequestsActionDrop, s.drop)
	if err == nil && out.Result == Dropped && !out.Replayed {
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

type action func(ctx context.Context, q *db.Queries, st db.LockStudentRow, r Request, out *Outcome) error

// apply runs one request as one transaction: lock the student, answer a replayed key from
// the record, apply the action, record the answer under the key.
func (s *Service) apply(ctx context.Context, r Request, kind db.RegistrationRequestsAction, act action) (Outcome, error) {
	var out Outcome
	start := time.Now()
	defer func() { s.latency.observe(time.Since(start)) }()
	if len(r.Key) > MaxKeyLen {
		return Outcome{Result: Invalid, Section: Section{ID: r.SectionID}, SeatsLeft: -1}, nil
	}
	err := db.InTx(ctx, s.db, func(q *db.Queries) error {
		out = Outcome{Section: Section{ID: r.SectionID}, SeatsLeft: -1}
		st, err := q.LockStudent(ctx, r.StudentID)
		if errors.Is(err, sql.ErrNoRows) || err == nil && st.Role != db.UsersRoleStudent {
			return ErrNotStudent
		}
		if err != nil {
			return fmt.Errorf("lock student %d: %w", r.StudentID, err)
		}
		if r.Key != "" {
			prev, err := q.GetRequestResult(ctx, db.GetRequestResultParams{UserID: r.StudentID, RequestKey: r.Key})
			switch {
			case err == nil && (prev.Action != kind || prev.SectionID != r.SectionID):
				out.Result = Invalid // a key reused for another request
				return nil
			case err == nil:
				out.Result, out.Replayed = Result(prev.Result), true
				return nil
			case !errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("look up request key: %w", err)
			}
		}
		if err := act(ctx, q, st, r, &out); err != nil {
			return err
		}
		if r.Key != "" {
			if err := q.SaveRequestResult(ctx, db.SaveRequestResultParams{UserID: r.StudentID, RequestKey: r.Key,
				Action: kind, SectionID: r.SectionID, Result: string(out.Result)}); err != nil {
				return fmt.Errorf("record request key: %w", err)
			}
		}
		return nil
	}, db.OnRetry(func(error) { s.metrics.retries.Inc() }))
	if err != nil {
		return Outcome{}, fmt.Errorf("%s section %d for student %d: %w", kind, r.SectionID, r.StudentID, err)
	}
	s.metrics.observe(kind, out)
	return out, nil
}

// section loads the section and checks it is open to this student now: it exists, it is
// in the current term, and a registration window is open for the student's year.
func (s *Service) section(ctx context.Context, q *db.Queries, st db.LockStudentRow, out *Outcome) (db.GetSectionForRegistrationRow, bool, error) {
	sec, err := q.GetSectionForRegistration(ctx, out.Section.ID)
	if errors.Is(err, sql.ErrNoRows) {
		out.Result = NotFound
		return sec, false, nil
	}
	if err != nil {
		return sec, false, fmt.Errorf("load section: %w", err)
	}
	describe(sec, out)
	if !sec.IsCurrent {
		out.Result, out.NotInTerm = NotFound, true
		return sec, false, nil
	}
	_, err = q.OpenWindowPhase(ctx, db.OpenWindowPhaseParams{TermID: sec.TermID, ClassYear: st.ClassYear, Now: s.now().UTC()})
	if errors.Is(err, sql.ErrNoRows) {
		out.Result = WindowClosed
		return sec, false, nil
	}
	if err != nil {
		return sec, false, fmt.Errorf("registration window: %w", err)
	}
	return sec, true, nil
}

// describe fills in the section the outcome is about, as the transaction read it.
func describe(sec db.GetSectionForRegistrationRow, out *Outcome) {
	out.Section = Section{ID: sec.ID, CourseCode: sec.CourseCode, Number: sec.Number, Credits: int(sec.Credits),
		Title: sec.Title, Department: sec.DepartmentCode, Instructor: sec.Instructor, Room: sec.Room, Capacity: int(sec.Capacity)}
	out.SeatsLeft = max(0, int(sec.Capacity-sec.Enrolled-sec.Held))
}

// check applies the rules that depend on the student's own record: one section per
// course, prerequisites, time conflicts, the credit limit. It sets out.Result when one
// refuses (Enrolled when the student already holds this very section).
func (s *Service) check(ctx context.Context, q *db.Queries, st db.LockStudentRow, sec db.GetSectionForRegistrationRow, out *Outcome) error {
	f, err := facts(ctx, q, st, sec)
	if err != nil || courseRules(f, sec, out) {
		return err
	}
	if conflict := text(f.Conflict); conflict != "" {
		out.Result, out.Other = TimeConflict, conflict
		return nil
	}
	out.CreditsUsed, out.CreditLimit, out.CreditsKnown = int(f.Credits), int(st.CreditLimit), true
	if int(f.Credits)+int(sec.Credits) > int(st.CreditLimit) {
		out.Result = CreditLimit
	}
	return nil
}

// facts reads what the rules need from the student's record in one round trip: this is
// the registration transaction, where every round trip holds the student's lock longer.
func facts(ctx context.Context, q *db.Queries, st db.LockStudentRow, sec db.GetSectionForRegistrationRow) (db.RegistrationFactsRow, error) {
	f, err := q.RegistrationFacts(ctx, db.RegistrationFactsParams{UserID: st.ID, CourseID: sec.CourseID, TermID: sec.TermID, SectionID: sec.ID})
	if err != nil {
		return f, fmt.Errorf("registration facts: %w", err)
	}
	return f, nil
}

// courseRules applies what waiting for a seat would not change: one section per course,
// and the prerequisites. It reports whether a rule decided the outcome.
func courseRules(f db.RegistrationFactsRow, sec db.GetSectionForRegistrationRow, out *Outcome) bool {
	switch {
	case f.HeldSectionID == sec.ID:
		out.Result = Enrolled
	case f.HeldSectionID != 0:
		out.Result, out.Other = Duplicate, SectionLabel(sec.CourseCode, text(f.HeldNumber))
	case text(f.Missing) != "":
		out.Result, out.Missing = Prerequisite, strings.Split(text(f.Missing), ",")
	default:
		return false
	}
	return true
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

func (s *Service) register(ctx context.Context, q *db.Queries, st db.LockStudentRow, r Request, out *Outcome) error {
	sec, ok, err := s.section(ctx, q, st, out)
	if err != nil || !ok {
		return err
	}
	return s.enroll(ctx, q, st, sec, out)
}

// enroll checks the rules, then takes a seat: the conditional UPDATE is what makes
// overselling impossible, whatever ran concurrently.
func (s *Service) enroll(ctx context.Context, q *db.Queries, st db.LockStudentRow, sec db.GetSectionForRegistrationRow, out *Outcome) error {
	if err := s.check(ctx, q, st, sec, out); err != nil || out.Result != "" {
		return err
	}
	n, err := q.TakeSeat(ctx, sec.ID)
	if err != nil {
		return fmt.Errorf("take seat: %w", err)
	}
	if n == 0 {
		out.Result, out.SeatsLeft = Full, 0
		return nil
	}
	if err := q.InsertEnrollment(ctx, db.InsertEnrollmentParams{UserID: st.ID, SectionID: sec.ID, CourseID: sec.CourseID,
		TermID: sec.TermID, Source: db.EnrollmentsSourceRegister}); err != nil {
		return fmt.Errorf("insert enrollment: %w", err)
	}
	if err := q.MarkWaitlistEnrolled(ctx, db.MarkWaitlistEnrolledParams{UserID: st.ID, SectionID: sec.ID}); err != nil {
		return fmt.Errorf("close waitlist entry: %w", err)
	}
	out.Result = Enrolled
	out.CreditsUsed += int(sec.Credits)
	out.SeatsLeft = max(0, out.SeatsLeft-1)
	return nil
}

func (s *Service) joinWaitlist(ctx context.Context, q *db.Queries, st db.LockStudentRow, r Request, out *Outcome) error {
	sec, ok, err := s.section(ctx, q, st, out)
	if err != nil || !ok {
		return err
	}
	// The section row is locked before the seat count is read, so a drop that frees a seat
	// either sees this entry or comes after it.
	locked, err := q.LockSection(ctx, sec.ID)
	if err != nil {
		return fmt.Errorf("lock section: %w", err)
	}
	if locked.Enrolled+locked.Held < locked.Capacity {
		return s.enroll(ctx, q, st, sec, out)
	}
	entry, err := q.GetWaitlistEntry(ctx, db.GetWaitlistEntryParams{UserID: st.ID, SectionID: sec.ID})
	switch {
	case err == nil && entry.Status == db.WaitlistEntriesStatusWaiting:
		// Already waiting: the same place, not a new one.
	case err == nil || errors.Is(err, sql.ErrNoRows):
		// Holding a seat in the course, or missing a prerequisite, makes waiting pointless;
		// conflicts and credits are checked when a seat frees.
		f, err := facts(ctx, q, st, sec)
		if err != nil || courseRules(f, sec, out) {
			return err
		}
		if err := q.ClearOldWaitlistEntry(ctx, db.ClearOldWaitlistEntryParams{UserID: st.ID, SectionID: sec.ID}); err != nil {
			return fmt.Errorf("clear old waitlist entry: %w", err)
		}
		if err := q.JoinWaitlist(ctx, db.JoinWaitlistParams{UserID: st.ID, SectionID: sec.ID}); err != nil {
			return fmt.Errorf("join waitlist: %w", err)
		}
		if entry, err = q.GetWaitlistEntry(ctx, db.GetWaitlistEntryParams{UserID: st.ID, SectionID: sec.ID}); err != nil {
			return fmt.Errorf("read waitlist entry: %w", err)
		}
	default:
		return fmt.Errorf("waitlist entry: %w", err)
	}
	ahead, err := q.WaitlistPosition(ctx, db.WaitlistPositionParams{SectionID: sec.ID, ID: entry.ID})
	if err != nil {
		return fmt.Errorf("waitlist position: %w", err)
	}
	out.Result, out.Position, out.SeatsLeft = Waitlisted, int(ahead)+1, 0
	return nil
}

func (s *Service) drop(ctx context.Context, q *db.Queries, st db.LockStudentRow, r Request, out *Outcome) error {
	sec, ok, err := s.section(ctx, q, st, out)
	if err != nil || !ok {
		return err
	}
	return giveUpSeat(ctx, q, st, sec, out)
}

// giveUpSeat deletes the student's enrollment in the section and frees the seat, or
// holds it for the first waiting student; the caller runs Promote after the commit.
func giveUpSeat(ctx context.Context, q *db.Queries, st db.LockStudentRow, sec db.GetSectionForRegistrationRow, out *Outcome) error {
	if _, err := q.LockSection(ctx, sec.ID); err != nil {
		return fmt.Errorf("lock section: %w", err)
	}
	n, err := q.DeleteEnrollment(ctx, db.DeleteEnrollmentParams{UserID: st.ID, SectionID: sec.ID})
	if err != nil {
		return fmt.Errorf("delete enrollment: %w", err)
	}
	if n == 0 {
		out.Result = NotFound
		return nil
	}
	// With students waiting, the seat is held for them rather than freed for anyone.
	var hold int32
	switch _, err := q.NextWaiting(ctx, sec.ID); {
	case err == nil:
		hold = 1
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("waitlist: %w", err)
	}
	if err := q.FreeSeat(ctx, db.FreeSeatParams{Hold: hold, ID: sec.ID}); err != nil {
		return fmt.Errorf("free seat: %w", err)
	}
	used, err := q.CreditsEnrolled(ctx, db.CreditsEnrolledParams{UserID: st.ID, TermID: sec.TermID})
	if err != nil {
		return fmt.Errorf("credits: %w", err)
	}
	out.CreditsUsed, out.CreditLimit, out.CreditsKnown = int(used), int(st.CreditLimit), true
	out.Result = Dropped
	if hold == 0 {
		out.SeatsLeft++
	}
	return nil
}

func (s *Service) leaveWaitlist(ctx context.Context, q *db.Queries, st db.LockStudentRow, r Request, out *Outcome) error {
	entry, err := q.GetWaitlistEntry(ctx, db.GetWaitlistEntryParams{UserID: st.ID, SectionID: r.SectionID})
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
