package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/notify"
)

// Promote hands the section's held seats to its waitlist in order. Each candidate is one
// transaction that locks the candidate's row (reading their record with it), then the
// section's, and checks every rule again, against the catalog; a candidate who no longer passes is skipped with the reason kept. When nobody is
// left waiting, the remaining held seats are freed for everyone.
func (s *Service) Promote(ctx context.Context, sectionID int64) error {
	q := db.New(s.db)
	var cat *Catalog
	for {
		cand, err := q.NextWaiting(ctx, sectionID)
		if errors.Is(err, sql.ErrNoRows) {
			return s.releaseHeld(ctx, sectionID)
		}
		if err != nil {
			return fmt.Errorf("next on the waitlist of section %d: %w", sectionID, err)
		}
		if cat == nil {
			// The rules are checked against a catalog at least as new as this moment's;
			// read only when someone waits, as after most drops nobody does.
			if cat, err = s.FreshCatalog(ctx); err != nil {
				return fmt.Errorf("promote on section %d: %w", sectionID, err)
			}
			if cat.sections[sectionID] == nil {
				return fmt.Errorf("promote on section %d: not in the catalog", sectionID)
			}
		}
		done, result := false, ""
		err = db.InTx(ctx, s.db, func(q *db.Queries) error {
			done, result = false, ""
			req := &request{Request: Request{StudentID: cand.UserID, SectionID: sectionID}, cat: cat, sec: cat.sections[sectionID]}
			if err := s.lockRecord(ctx, q, req); err != nil {
				return fmt.Errorf("lock student %d: %w", cand.UserID, err)
			}
			locked, err := q.LockSection(ctx, sectionID)
			if err != nil {
				return fmt.Errorf("lock section: %w", err)
			}
			if locked.Held == 0 {
				done = true
				return nil
			}
			// Someone joined, left or was promoted meanwhile: look again.
			if first, err := q.NextWaiting(ctx, sectionID); err != nil || first.ID != cand.ID {
				if errors.Is(err, sql.ErrNoRows) {
					err = nil
				}
				return err
			}
			var out Outcome
			if err := check(ctx, q, req, &out); err != nil {
				return err
			}
			sec := req.sec
			switch out.Result {
			case Enrolled: // took this very section meanwhile
				return q.SetWaitlistStatus(ctx, db.SetWaitlistStatusParams{Status: db.WaitlistEntriesStatusEnrolled, ID: cand.ID})
			case "":
			default:
				result = "skipped_" + string(out.Result)
				return q.SetWaitlistStatus(ctx, db.SetWaitlistStatusParams{Status: db.WaitlistEntriesStatusSkipped,
					Reason: string(out.Result), ID: cand.ID})
			}
			if _, err := q.TakeHeldSeat(ctx, sectionID); err != nil {
				return fmt.Errorf("take held seat: %w", err)
			}
			if err := q.InsertEnrollment(ctx, db.InsertEnrollmentParams{UserID: req.st.ID, SectionID: sectionID,
				CourseID: sec.courseID, TermID: sec.termID, Source: db.EnrollmentsSourceWaitlist}); err != nil {
				return fmt.Errorf("insert enrollment: %w", err)
			}
			result = "enrolled"
			// Told in the promotion's own transaction: the notice exists exactly when the seat does.
			if err := notify.Add(ctx, q, req.st.ID, notify.Promoted, notify.Args{Section: sec.Label(), Course: sec.Title}); err != nil {
				return err
			}
			return q.SetWaitlistStatus(ctx, db.SetWaitlistStatusParams{Status: db.WaitlistEntriesStatusEnrolled, ID: cand.ID})
		}, db.OnRetry(func(error) { s.metrics.retries.Inc() }))
		if err != nil {
			return fmt.Errorf("promote on section %d: %w", sectionID, err)
		}
		if result != "" {
			s.metrics.waitlist.WithLabelValues(result).Inc()
		}
		if done {
			return nil
		}
	}
}

// PromoteNow hands the section's held seats to its waitlist after a change that held
// them committed; when that fails the seats stay held, and the sweeper (Run) hands them
// on later. It runs on its own, even when the request that made the change was
// abandoned: the change is kept, and the students waiting are owed their seats now.
func (s *Service) PromoteNow(ctx context.Context, sectionID int64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.Promote(ctx, sectionID); err != nil {
		s.log.ErrorContext(ctx, "promote from waitlist after a change", slog.Int64("section", sectionID), slog.Any("error", err))
	}
}

// releaseHeld frees held seats once nobody waits for them.
func (s *Service) releaseHeld(ctx context.Context, sectionID int64) error {
	return db.InTx(ctx, s.db, func(q *db.Queries) error {
		locked, err := q.LockSection(ctx, sectionID)
		if err != nil || locked.Held == 0 {
			return err
		}
		switch _, err := q.NextWaiting(ctx, sectionID); {
		case err == nil:
			return nil // someone joined meanwhile; the next Promote serves them
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		return q.ReleaseHeldSeats(ctx, sectionID)
	})
}

// Run hands on seats that a drop held but whose promotion did not finish (the replica
// stopped, the database was briefly away), every interval until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ids, err := db.New(s.db).SectionsWithHeldSeats(ctx)
		if err != nil {
			s.log.WarnContext(ctx, "sections with held seats", slog.Any("error", err))
			continue
		}
		for _, id := range ids {
			if err := s.Promote(ctx, id); err != nil {
				s.log.WarnContext(ctx, "promote from waitlist", slog.Int64("section", id), slog.Any("error", err))
			}
		}
	}
}
