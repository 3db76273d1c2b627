package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/notify"
)

// Staff enrollment is what the registrar's office may do that a student may not. A staff
// member enrolls a student in any term's section outside the registration windows and
// past the waiting room, and waives the prerequisites and the credit limit (an approved
// overload); the rules that stay are a free seat (seats held for the waitlist count as
// taken: they belong to the students waiting), one section per course, and no time
// conflict, since a student cannot sit in two rooms at once. Each change is one
// transaction with its audit row.

// StaffChange is a staff member's enrollment or drop of one student in one section.
type StaffChange struct {
	By        db.Actor
	StudentID int64
	Student   string // the student's username, as the audit log names them
	SectionID int64
	Reason    string // why, for the audit log
}

// StaffEnroll enrolls the student in the section on staff's word. Waived lists the rules
// the enrollment passed only because staff made it (Prerequisite, CreditLimit). An
// account that is not a student's is ErrNotStudent.
func (s *Service) StaffEnroll(ctx context.Context, c StaffChange) (out Outcome, waived []Result, err error) {
	err = db.Audited(ctx, s.db, c.By, func(q *db.Queries) (db.Change, error) {
		var err error
		out, waived, err = staffEnrollIn(ctx, q, c.StudentID, c.SectionID)
		if err != nil || out.Result != Enrolled {
			return db.Change{}, err
		}
		if err := notify.Add(ctx, q, c.StudentID, notify.StaffEnrolled, notify.Args{Section: out.Section.Label(), Course: out.Section.Title}); err != nil {
			return db.Change{}, err
		}
		after := map[string]any{"student": c.Student, "section": out.Section.Label(), "source": "staff"}
		if len(waived) > 0 {
			after["waived"] = waived
		}
		return db.Change{Action: "section.enroll", Entity: "section", EntityID: c.SectionID, After: after, Reason: c.Reason}, nil
	})
	if err != nil {
		return Outcome{}, nil, fmt.Errorf("staff enroll %s in section %d: %w", c.Student, c.SectionID, err)
	}
	return out, waived, nil
}

// StaffDrop takes the student out of the section on staff's word, whatever the
// registration windows say. The seat goes to the waitlist first, as after any drop.
func (s *Service) StaffDrop(ctx context.Context, c StaffChange) (Outcome, error) {
	var out Outcome
	err := db.Audited(ctx, s.db, c.By, func(q *db.Queries) (db.Change, error) {
		var err error
		out, err = staffDropIn(ctx, q, c.StudentID, c.SectionID)
		if err != nil || out.Result != Dropped {
			return db.Change{}, err
		}
		if err := notify.Add(ctx, q, c.StudentID, notify.StaffDropped, notify.Args{Section: out.Section.Label(), Course: out.Section.Title}); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "section.drop", Entity: "section", EntityID: c.SectionID,
			Before: map[string]any{"student": c.Student, "section": out.Section.Label()}, Reason: c.Reason}, nil
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("staff drop %s from section %d: %w", c.Student, c.SectionID, err)
	}
	if out.Result == Dropped {
		s.PromoteNow(ctx, c.SectionID)
	}
	return out, nil
}

// staffEnrollIn is StaffEnroll within q's transaction.
func staffEnrollIn(ctx context.Context, q *db.Queries, studentID, sectionID int64) (out Outcome, waived []Result, err error) {
	st, sec, out, err := lockStaffTarget(ctx, q, studentID, sectionID)
	if err != nil || out.Result != "" {
		return out, nil, err
	}
	f, err := facts(ctx, q, st, sec)
	if err != nil {
		return out, nil, err
	}
	if f.HeldSectionID != 0 {
		out.Result, out.Other = Duplicate, SectionLabel(sec.CourseCode, text(f.HeldNumber))
		return out, nil, nil
	}
	if conflict := text(f.Conflict); conflict != "" {
		out.Result, out.Other = TimeConflict, conflict
		return out, nil, nil
	}
	if missing := text(f.Missing); missing != "" {
		waived = append(waived, Prerequisite)
	}
	out.CreditsUsed, out.CreditLimit, out.CreditsKnown = int(f.Credits)+int(sec.Credits), int(st.CreditLimit), true
	if out.CreditsUsed > out.CreditLimit {
		waived = append(waived, CreditLimit)
	}
	// The student's quota first, as their own request would (quota.go).
	var qts []*quota
	switch id, err := q.StaffQuotaFor(ctx, db.StaffQuotaForParams{UserID: st.ID, SectionID: sec.ID}); {
	case err == nil:
		qts = []*quota{{id: id}}
	case !errors.Is(err, sql.ErrNoRows):
		return out, nil, fmt.Errorf("quota for the student: %w", err)
	}
	quotaID, err := takeSeat(ctx, q, sec.ID, qts)
	if errors.Is(err, errFull) {
		out.Result, out.SeatsLeft = Full, 0
		return out, nil, nil
	}
	if err != nil {
		return out, nil, err
	}
	if err := insertEnrollment(ctx, q, db.InsertEnrollmentParams{UserID: st.ID, SectionID: sec.ID, CourseID: sec.CourseID,
		TermID: sec.TermID, Source: db.EnrollmentsSourceStaff}, quotaID); err != nil {
		return out, nil, err
	}
	if err := q.MarkWaitlistEnrolled(ctx, db.MarkWaitlistEnrolledParams{UserID: st.ID, SectionID: sec.ID}); err != nil {
		return out, nil, fmt.Errorf("close waitlist entry: %w", err)
	}
	out.Result, out.SeatsLeft = Enrolled, max(0, out.SeatsLeft-1)
	return out, waived, nil
}

// staffDropIn is StaffDrop within q's transaction: the seat is held for the waitlist
// when students wait, and the caller runs Promote after the commit.
func staffDropIn(ctx context.Context, q *db.Queries, studentID, sectionID int64) (Outcome, error) {
	st, sec, out, err := lockStaffTarget(ctx, q, studentID, sectionID)
	if err != nil || out.Result != "" {
		return out, err
	}
	return out, giveUpSeat(ctx, q, st, sec, &out)
}

// lockStaffTarget locks the student (the same lock order as a student's own request:
// student, then section) and loads the section; out.Result is NotFound when the section
// does not exist.
func lockStaffTarget(ctx context.Context, q *db.Queries, studentID, sectionID int64) (db.LockStudentRow, db.GetSectionForRegistrationRow, Outcome, error) {
	out := Outcome{Section: Section{ID: sectionID}, SeatsLeft: -1}
	var sec db.GetSectionForRegistrationRow
	st, err := q.LockStudent(ctx, studentID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && st.Role != db.UsersRoleStudent {
		return st, sec, out, ErrNotStudent
	}
	if err != nil {
		return st, sec, out, fmt.Errorf("lock student %d: %w", studentID, err)
	}
	sec, err = q.GetSectionForRegistration(ctx, sectionID)
	if errors.Is(err, sql.ErrNoRows) {
		out.Result = NotFound
		return st, sec, out, nil
	}
	if err != nil {
		return st, sec, out, fmt.Errorf("load section %d: %w", sectionID, err)
	}
	describe(sec, &out)
	return st, sec, out, nil
}

// CapacityError: a section's capacity cannot fall below the seats taken in it, by the
// students registered and for the students waiting (Held), and, while its quotas hold,
// the seats still reserved for them (Reserved).
type CapacityError struct {
	Enrolled, Held, Reserved int
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("capacity below the %d students registered, %d seats held and %d reserved for quotas", e.Enrolled, e.Held, e.Reserved)
}

// Resize gives the section a new capacity within q's transaction; the caller locks the
// section's quotas first (db.LockSectionQuotas), when it changes them. It locks the section's
// row to the commit, so a registration taking a seat meanwhile waits and the capacity
// cannot fall below the seats taken between check and write; it refuses a capacity below
// those seats with a *CapacityError; and it holds the new free seats for the students
// waiting, who get them before anyone else. It returns how many seats it held: the caller
// runs PromoteNow after the commit when that is more than zero.
func Resize(ctx context.Context, q *db.Queries, sectionID int64, capacity int) (held int, err error) {
	locked, err := q.LockSectionSeats(ctx, sectionID)
	if err != nil {
		return 0, fmt.Errorf("lock section %d: %w", sectionID, err)
	}
	reserved := int32(locked.Reserved)
	if int32(capacity) < locked.Enrolled+locked.Held+reserved {
		return 0, &CapacityError{Enrolled: int(locked.Enrolled), Held: int(locked.Held), Reserved: int(reserved)}
	}
	waiting, err := q.CountWaiting(ctx, sectionID)
	if err != nil {
		return 0, fmt.Errorf("waitlist of section %d: %w", sectionID, err)
	}
	hold := max(0, min(int32(capacity)-locked.Enrolled-locked.Held-reserved, int32(waiting)-locked.Held))
	if hold == 0 && int32(capacity) == locked.Capacity {
		return 0, nil
	}
	if err := q.ResizeSection(ctx, db.ResizeSectionParams{Capacity: int32(capacity), Hold: hold, ID: sectionID}); err != nil {
		return 0, fmt.Errorf("resize section %d: %w", sectionID, err)
	}
	return int(hold), nil
}
