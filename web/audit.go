package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/schoolservice/school/db"
)

// change is one staff action as the audit log keeps it. Before and After are the
// entity's values (nil when it did not exist before or does not after); Reason is what
// the staff member typed, when the action asks for one.
type change struct {
	Action   string // "section.update", "waiting_room.settings", …
	Entity   string // "section", "registration_window", …
	EntityID int64
	Before   any
	After    any
	Reason   string
}

// auditDetails is the JSON kept in audit_log.details.
type auditDetails struct {
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// audited runs fn in one transaction together with the audit row of the change it
// returns: a change is never kept without its record, nor recorded without being kept.
// fn may read the entity's old values inside the transaction for Before. When fn
// returns an error nothing is written, and that error is returned as it is; a zero
// change means fn found nothing to do, and nothing is recorded.
//
// Every staff change bumps the registration catalog's version in its transaction, so
// every replica reloads what registration keeps in memory (most changes touch it: terms,
// windows, courses, sections, meetings; a reload for the others costs less than a list
// of which do), and this replica reloads it at once.
func (s *Server) audited(r *http.Request, fn func(q *db.Queries) (change, error)) error {
	actor, _ := s.currentUser(r)
	ctx := r.Context()
	err := db.InTx(ctx, s.db, func(q *db.Queries) error {
		c, err := fn(q)
		if err != nil || c.Action == "" {
			return err
		}
		if err := writeAudit(ctx, q, actor, c); err != nil {
			return err
		}
		return q.BumpCatalogVersion(ctx)
	})
	if err == nil {
		s.catalogChanged(ctx)
	}
	return err
}

// catalogChanged reloads this replica's registration catalog after a change made here;
// should that fail, the poll (WatchCatalog) and the next request's check catch up.
func (s *Server) catalogChanged(ctx context.Context) {
	if err := s.reg.RefreshCatalog(ctx); err != nil {
		s.log.WarnContext(ctx, "reload the registration catalog after a staff change", slog.Any("error", err))
	}
}

// writeAudit records c inside the caller's transaction.
func writeAudit(ctx context.Context, q *db.Queries, actor sessionUser, c change) error {
	details, err := json.Marshal(auditDetails{Before: c.Before, After: c.After, Reason: c.Reason})
	if err != nil {
		return fmt.Errorf("audit details of %s: %w", c.Action, err)
	}
	err = q.InsertAudit(ctx, db.InsertAuditParams{
		ActorID: sql.NullInt64{Int64: actor.ID, Valid: actor.ID != 0},
		Actor:   actor.Username, Action: c.Action, Entity: c.Entity, EntityID: c.EntityID,
		Details: details,
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", c.Action, err)
	}
	return nil
}
