package catalog

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/schoolservice/school/db"
)

// Term is a term as staff write it.
type Term struct {
	Code, Name       string
	NameKo           string // the Korean name; Name is the English one
	StartsOn, EndsOn time.Time
}

// termRecord is a term as the audit log keeps it.
type termRecord struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	NameKo   string `json:"name_ko,omitempty"`
	StartsOn string `json:"starts_on"`
	EndsOn   string `json:"ends_on"`
	Current  bool   `json:"current"`
}

func (t Term) record(current bool) termRecord {
	return termRecord{Code: t.Code, Name: t.Name, NameKo: t.NameKo, StartsOn: t.StartsOn.Format(time.DateOnly),
		EndsOn: t.EndsOn.Format(time.DateOnly), Current: current}
}

func termRecordOf(t db.Term) termRecord {
	return Term{Code: t.Code, Name: t.Name, NameKo: t.NameKo, StartsOn: t.StartsOn, EndsOn: t.EndsOn}.record(t.IsCurrent)
}

// taken turns a UNIQUE key violation into refusal; other errors pass as they are.
func taken(err, refusal error) error {
	if db.IsDuplicate(err) {
		return refusal
	}
	return err
}

// CreateTerm adds a term, not yet the current one. Its code must be free.
func (s *Service) CreateTerm(ctx context.Context, by db.Actor, t Term) (int64, error) {
	var id int64
	err := db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		var err error
		id, err = q.InsertTerm(ctx, db.InsertTermParams{Code: t.Code, Name: t.Name, NameKo: t.NameKo, StartsOn: t.StartsOn, EndsOn: t.EndsOn})
		if err != nil {
			return db.Change{}, taken(err, &CodeTakenError{Code: t.Code})
		}
		return db.Change{Action: "term.create", Entity: "term", EntityID: id, After: t.record(false)}, nil
	})
	return id, err
}

// UpdateTerm changes term id's code, name and dates; whether it is current stays.
func (s *Service) UpdateTerm(ctx context.Context, by db.Actor, id int64, t Term) error {
	return db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.GetTermForUpdate(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		before, after := termRecordOf(old), t.record(old.IsCurrent)
		if before == after {
			return db.Change{}, nil
		}
		err = q.UpdateTerm(ctx, db.UpdateTermParams{Code: t.Code, Name: t.Name, NameKo: t.NameKo, StartsOn: t.StartsOn, EndsOn: t.EndsOn, ID: id})
		if err != nil {
			return db.Change{}, taken(err, &CodeTakenError{Code: t.Code})
		}
		return db.Change{Action: "term.update", Entity: "term", EntityID: id, Before: before, After: after}, nil
	})
}

// SetCurrentTerm makes term id the one students see and register for, and returns its
// code.
func (s *Service) SetCurrentTerm(ctx context.Context, by db.Actor, id int64) (code string, err error) {
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.GetTermForUpdate(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		code = old.Code
		if old.IsCurrent {
			return db.Change{}, nil
		}
		var before any
		switch cur, err := q.CurrentTerm(ctx); {
		case err == nil:
			before = map[string]string{"current": cur.Code}
		case !errors.Is(err, sql.ErrNoRows): // no term was current: nothing before
			return db.Change{}, err
		}
		if err := q.SetCurrentTerm(ctx, db.SetCurrentTermParams{ID: id}); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "term.set_current", Entity: "term", EntityID: id, Before: before,
			After: map[string]string{"current": old.Code}}, nil
	})
	return code, err
}

// DeleteTerm deletes term id, which nothing may use, and returns its code.
func (s *Service) DeleteTerm(ctx context.Context, by db.Actor, id int64) (code string, err error) {
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.GetTermForUpdate(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		code = old.Code
		deps, err := q.TermDependents(ctx, db.TermDependentsParams{ID: id})
		if err != nil {
			return db.Change{}, err
		}
		if deps.Sections+deps.Windows+deps.Enrollments > 0 {
			return db.Change{}, &TermInUseError{Sections: deps.Sections, Windows: deps.Windows}
		}
		if err := q.DeleteTerm(ctx, id); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "term.delete", Entity: "term", EntityID: id, Before: termRecordOf(old)}, nil
	})
	return code, err
}
