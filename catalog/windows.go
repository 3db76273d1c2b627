package catalog

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/notify"
)

// Window is a registration window as staff set it: which class year (0: every year) may
// do what (Phase) from Opens to Closes, and whether students see the basket counts
// (registration.Catalog.BasketCountsShown) while it is the latest opened.
type Window struct {
	ClassYear        int
	Phase            db.RegistrationWindowsPhase
	Opens, Closes    time.Time
	ShowBasketCounts bool
}

// windowRecord is a registration window as the audit log keeps it; times in UTC.
type windowRecord struct {
	Term      string    `json:"term"`
	ClassYear string    `json:"class_year"` // "all" or "1" … "6"
	Phase     string    `json:"phase"`
	OpensAt   time.Time `json:"opens_at"`
	ClosesAt  time.Time `json:"closes_at"`
	// BasketCounts: students see the basket counts and competition ratios.
	BasketCounts bool `json:"basket_counts"`
}

func (w Window) record(term string) windowRecord {
	rec := windowRecord{Term: term, ClassYear: "all", Phase: string(w.Phase), OpensAt: w.Opens.UTC(), ClosesAt: w.Closes.UTC(),
		BasketCounts: w.ShowBasketCounts}
	if w.ClassYear != 0 {
		rec.ClassYear = strconv.Itoa(w.ClassYear)
	}
	return rec
}

func (w Window) classYear() sql.NullInt16 {
	return sql.NullInt16{Int16: int16(w.ClassYear), Valid: w.ClassYear != 0}
}

func windowOf(row db.GetWindowForUpdateRow) Window {
	return Window{ClassYear: int(row.ClassYear.Int16), Phase: row.Phase, Opens: row.OpensAt, Closes: row.ClosesAt,
		ShowBasketCounts: row.ShowBasketCounts}
}

// CreateWindow adds a registration window to term termID, which must exist.
func (s *Service) CreateWindow(ctx context.Context, by db.Actor, termID int64, w Window) (int64, error) {
	var id int64
	err := db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		t, err := q.GetTerm(ctx, termID)
		if errors.Is(err, sql.ErrNoRows) {
			return db.Change{}, ErrNoTerm
		}
		if err != nil {
			return db.Change{}, err
		}
		id, err = q.InsertRegistrationWindow(ctx, db.InsertRegistrationWindowParams{TermID: termID, ClassYear: w.classYear(),
			Phase: w.Phase, OpensAt: w.Opens, ClosesAt: w.Closes})
		if err == nil && w.ShowBasketCounts {
			err = q.SetWindowBasketCounts(ctx, db.SetWindowBasketCountsParams{ShowBasketCounts: true, ID: id})
		}
		return db.Change{Action: "window.create", Entity: "registration_window", EntityID: id, After: w.record(t.Code)}, err
	})
	return id, err
}

// UpdateWindow changes registration window id; its term stays.
func (s *Service) UpdateWindow(ctx context.Context, by db.Actor, id int64, w Window) error {
	var moved func(context.Context) error
	err := db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		moved = nil
		old, err := q.GetWindowForUpdate(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		t, err := q.GetTerm(ctx, old.TermID)
		if err != nil {
			return db.Change{}, err
		}
		before, after := windowOf(old).record(t.Code), w.record(t.Code)
		if before == after {
			return db.Change{}, nil
		}
		err = q.UpdateWindow(ctx, db.UpdateWindowParams{ClassYear: w.classYear(), Phase: w.Phase, OpensAt: w.Opens, ClosesAt: w.Closes,
			ShowBasketCounts: w.ShowBasketCounts, ID: id})
		if err != nil {
			return db.Change{}, err
		}
		// The students it applies to, before or after, plan their morning by it: they are
		// told once the change committed, so only of a change that happened.
		if !before.OpensAt.Equal(after.OpensAt) || !before.ClosesAt.Equal(after.ClosesAt) || before.ClassYear != after.ClassYear {
			oldYear, args := windowOf(old).ClassYear, notify.Args{Term: t.Code, Phase: string(w.Phase), Opens: w.Opens.UTC(), Closes: w.Closes.UTC()}
			moved = func(ctx context.Context) error {
				_, err := notify.WindowChanged(ctx, db.New(s.db), oldYear, w.ClassYear, args)
				return err
			}
		}
		return db.Change{Action: "window.update", Entity: "registration_window", EntityID: id, Before: before, After: after}, nil
	})
	if err != nil || moved == nil {
		return err
	}
	// The change stands whatever happens to the notices: a staff member's request that
	// leaves does not stop them, and a failure is logged for the operators rather than
	// answered as a change that failed.
	if err := moved(context.WithoutCancel(ctx)); err != nil {
		s.log.ErrorContext(ctx, "tell the students a window moved", slog.Int64("window", id), slog.Any("error", err))
	}
	return nil
}

// DeleteWindow deletes registration window id, in whose waiting room no student may have
// a place, and returns its term's id.
func (s *Service) DeleteWindow(ctx context.Context, by db.Actor, id int64) (termID int64, err error) {
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.GetWindowForUpdate(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		termID = old.TermID
		t, err := q.GetTerm(ctx, old.TermID)
		if err != nil {
			return db.Change{}, err
		}
		tickets, err := q.WindowTickets(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		if tickets > 0 {
			return db.Change{}, &WindowInUseError{Tickets: tickets}
		}
		if err := q.DeleteWindow(ctx, id); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "window.delete", Entity: "registration_window", EntityID: id, Before: windowOf(old).record(t.Code)}, nil
	})
	return termID, err
}
