package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

const auditPerPage = 50

// adminAudit lists the audit log, newest first, optionally for one kind of entity (and
// one entity), a page at a time: ?before= is the id the previous page ended at.
func (s *Server) adminAudit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	query := r.URL.Query()
	page := views.AuditLog{Entity: query.Get("entity")}
	page.EntityID, _ = strconv.ParseInt(query.Get("entity_id"), 10, 64)
	before, _ := strconv.ParseInt(query.Get("before"), 10, 64)
	page.Paged = before > 0
	kinds, err := s.q.ListAuditEntities(ctx)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("audit entities: %w", err))
		return
	}
	page.Entities = kinds
	if !slices.Contains(kinds, page.Entity) {
		page.Entity, page.EntityID = "", 0
	}
	rows, err := s.q.ListAudit(ctx, db.ListAuditParams{Entity: page.Entity, EntityID: max(0, page.EntityID), BeforeID: max(0, before), Limit: auditPerPage + 1})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("audit log: %w", err))
		return
	}
	if len(rows) > auditPerPage {
		rows = rows[:auditPerPage]
		page.NextBefore = rows[len(rows)-1].ID
	}
	for _, row := range rows {
		page.Entries = append(page.Entries, auditEntry(row))
	}
	s.render(w, r, http.StatusOK, views.AuditPage(page), nil)
}

// auditEntry lays a record's before and after side by side, field by field.
func auditEntry(row db.ListAuditRow) views.AuditEntry {
	e := views.AuditEntry{ID: row.ID, When: row.CreatedAt, Actor: row.Actor, Action: row.Action, Entity: row.Entity, EntityID: row.EntityID}
	var d struct {
		Before, After json.RawMessage
		Reason        string
	}
	if err := json.Unmarshal(row.Details, &d); err != nil {
		e.Changes = []views.AuditField{{After: string(row.Details)}}
		return e
	}
	e.Reason = d.Reason
	before, after := fields(d.Before), fields(d.After)
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		b, a := before[k], after[k]
		e.Changes = append(e.Changes, views.AuditField{Field: k, Before: b, After: a,
			Changed: len(d.Before) > 0 && len(d.After) > 0 && b != a})
	}
	return e
}

// fields flattens a JSON object one level into text per key; any other JSON value is
// one field with an empty name.
func fields(raw json.RawMessage) map[string]string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return map[string]string{"": jsonText(raw)}
	}
	out := make(map[string]string, len(obj))
	for k, v := range obj {
		out[k] = jsonText(v)
	}
	return out
}

// jsonText shows a string without its quotes and anything else as compact JSON.
func jsonText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	if string(v) == "null" {
		return ""
	}
	return string(v)
}
