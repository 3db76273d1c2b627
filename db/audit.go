package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
)

// Actor is who makes a staff change, as the audit log names them. A zero ID is kept as
// no account.
type Actor struct {
	ID       int64
	Username string
}

// Change is one staff action as the audit log keeps it. Before and After are the
// entity's values (nil when it did not exist before or does not after); Reason is what
// the staff member typed, when the action asks for one.
type Change struct {
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

// Audited runs fn in one transaction (see InTx) together with the audit row of the
// change it returns: a change is never kept without its record, nor recorded without
// being kept. fn may read the entity's old values inside the transaction for Before.
// When fn returns an error nothing is written and that error is returned as it is; a
// zero Change means fn found nothing to do, and nothing is recorded.
//
// It lives here rather than in each domain package because every staff change, whatever
// its domain, ends the same way: one row in audit_log, in the change's transaction.
func Audited(ctx context.Context, sqldb *sql.DB, by Actor, fn func(q *Queries) (Change, error)) error {
	return audited(ctx, sqldb, by, fn, false)
}

// AuditedCatalog is Audited for a change to what the registration catalog holds (terms,
// windows, departments, courses, sections, meetings, prerequisites): it also bumps
// catalog_version in the same transaction, so every replica reloads its copy
// (registration/catalog). Other staff changes (a staff enrollment, a capacity, the
// waiting room's settings, notices) must not: on registration morning each bump makes
// every replica's next registration wait for a reload of the whole catalog.
func AuditedCatalog(ctx context.Context, sqldb *sql.DB, by Actor, fn func(q *Queries) (Change, error)) error {
	return audited(ctx, sqldb, by, fn, true)
}

func audited(ctx context.Context, sqldb *sql.DB, by Actor, fn func(q *Queries) (Change, error), catalog bool) error {
	return InTx(ctx, sqldb, func(q *Queries) error {
		c, err := fn(q)
		if err != nil || c.Action == "" {
			return err
		}
		if err := q.audit(ctx, by, c); err != nil {
			return err
		}
		if !catalog {
			return nil
		}
		return q.BumpCatalogVersion(ctx)
	})
}

// audit records c inside q's transaction.
func (q *Queries) audit(ctx context.Context, by Actor, c Change) error {
	details, err := json.Marshal(auditDetails{Before: c.Before, After: c.After, Reason: c.Reason})
	if err != nil {
		return fmt.Errorf("audit details of %s: %w", c.Action, err)
	}
	err = q.InsertAudit(ctx, InsertAuditParams{
		ActorID: sql.NullInt64{Int64: by.ID, Valid: by.ID != 0},
		Actor:   by.Username, Action: c.Action, Entity: c.Entity, EntityID: c.EntityID,
		Details: details,
	})
	if err != nil {
		return fmt.Errorf("audit %s: %w", c.Action, err)
	}
	return nil
}
