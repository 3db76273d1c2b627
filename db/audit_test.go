package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
)

// TestAudited: a change is kept with its audit row or not at all, and a change that
// found nothing to do records nothing.
func TestAudited(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	q := db.New(sqldb)
	sam := db.Actor{ID: 0, Username: "sam"}
	count := func(query string) int {
		t.Helper()
		var n int
		if err := sqldb.QueryRow(query).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	err := db.Audited(ctx, sqldb, sam, func(q *db.Queries) (db.Change, error) {
		id, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "Computer Science"})
		return db.Change{Action: "department.create", Entity: "department", EntityID: id,
			Before: nil, After: map[string]string{"code": "CS"}, Reason: "new school"}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := q.ListAudit(ctx, db.ListAuditParams{Limit: 10})
	if err != nil || len(rows) != 1 {
		t.Fatalf("%d audit rows (%v), want 1", len(rows), err)
	}
	if r := rows[0]; r.Actor != "sam" || r.Action != "department.create" || r.Entity != "department" ||
		string(r.Details) != `{"after":{"code":"CS"},"reason":"new school"}` {
		t.Errorf("audit row %+v, details %s", r, r.Details)
	}

	refused := errors.New("refused")
	err = db.Audited(ctx, sqldb, sam, func(q *db.Queries) (db.Change, error) {
		if _, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "MATH", Name: "Mathematics"}); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "department.create", Entity: "department"}, refused
	})
	if !errors.Is(err, refused) {
		t.Errorf("err = %v, want the function's own", err)
	}
	if n := count("SELECT COUNT(*) FROM departments WHERE code = 'MATH'"); n != 0 {
		t.Error("a refused change was kept")
	}

	err = db.Audited(ctx, sqldb, sam, func(q *db.Queries) (db.Change, error) { return db.Change{}, nil })
	if err != nil || count("SELECT COUNT(*) FROM audit_log") != 1 {
		t.Errorf("a change with nothing to do was recorded (%v)", err)
	}
}

// TestAuditedCatalogBumpsTheVersion: a change to the registration catalog bumps
// catalog_version with its audit row; any other staff change leaves it, so replicas do
// not reload the catalog for it.
func TestAuditedCatalogBumpsTheVersion(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	q := db.New(sqldb)
	sam := db.Actor{Username: "sam"}
	version := func() int64 {
		t.Helper()
		v, err := q.CatalogVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := version()
	if err := db.Audited(ctx, sqldb, sam, func(q *db.Queries) (db.Change, error) {
		return db.Change{Action: "notice.publish", Entity: "notice", EntityID: 1}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != before {
		t.Errorf("a change outside the catalog moved catalog_version %d → %d", before, v)
	}
	if err := db.AuditedCatalog(ctx, sqldb, sam, func(q *db.Queries) (db.Change, error) {
		id, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "Computer Science"})
		return db.Change{Action: "department.create", Entity: "department", EntityID: id}, err
	}); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != before+1 {
		t.Errorf("a catalog change: catalog_version %d → %d, want +1", before, v)
	}
}
