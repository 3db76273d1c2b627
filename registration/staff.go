package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/schoolservice/school/db"
)

// Staff enrollment is what the registrar's office may do that a student may not. A staff
// member enrolls a student in any term's section outside the registration windows and
// past the waiting room, and waives the prerequisites and the credit limit (an approved
// overload); the rules that stay are a free seat (seats held for the waitlist count as
// taken: they belong to the students waiting), one section per course, and no time
// conflict, since a student cannot sit in two rooms at once. Both run inside the
// caller's transaction, so the audit record is written with the change; the caller runs
// Promote after a drop commits.

// StaffEnrollIn enrolls the student in the section within q's transaction. Waived lists
// the rules the enrollment passed only because staff made it (Prerequisite, CreditLimit).
func (s *Service) StaffEnrollIn(ctx context.Context, q *db.Queries, studentID, sectionID int64) (out Outcome, waived []Result, err error) {
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
	n, err := q.TakeSeat(ctx, sec.ID)
	if err != nil {
		return out, nil, fmt.Errorf("take seat: %w", err)
	}
	if n == 0 {
		out.Result, out.SeatsLeft = Full, 0
		return out, nil, nil
	}
	if err := q.InsertEnrollment(ctx, db.InsertEnrollmentParams{UserID: st.ID, SectionID: sec.ID, CourseID: sec.CourseID,
		TermID: sec.TermID, Source: db.EnrollmentsSourceStaff}); err != nil {
		return out, nil, fmt.Errorf("insert enrollment: %w", err)
	}
	if err := q.MarkWaitlistEnrolled(ctx, db.MarkWaitlistEnrolledParams{UserID: st.ID, SectionID: sec.ID}); err != nil {
		return out, nil, fmt.Errorf("close waitlist entry: %w", err)
	}
	out.Result, out.SeatsLeft = Enrolled, max(0, out.SeatsLeft-1)
	return out, waived, nil
}

// StaffDropIn takes the student out of the section within q's transaction, whatever the
// registration windows say. The seat is held for the waitlist when students wait.
func (s *Service) StaffDropIn(ctx context.Context, q *db.Queries, studentID, sectionID int64) (Outcome, error) {
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
