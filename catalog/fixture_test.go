package catalog_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/registration"
)

// sam is the staff member the tests' changes are by.
var sam = db.Actor{Username: "sam"}

// fixture is a throwaway database with a department (CS), a current term (2027-1) and
// the catalog's Service on it.
type fixture struct {
	t    *testing.T
	ctx  context.Context
	db   *sql.DB
	svc  *catalog.Service
	reg  *registration.Service // the one svc tells of its changes
	dept int64
	term int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	sqldb, _ := dbtest.New(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := registration.New(sqldb, log, prometheus.NewRegistry())
	f := &fixture{t: t, ctx: context.Background(), db: sqldb, reg: reg, svc: catalog.New(sqldb, reg, log)}
	f.dept = f.id(f.exec("INSERT INTO departments (code, name) VALUES ('CS', 'Computer Science')"))
	f.term = f.id(f.exec("INSERT INTO terms (code, name, starts_on, ends_on, is_current) VALUES ('2027-1', 'Spring 2027', '2027-03-01', '2027-06-30', TRUE)"))
	return f
}

func (f *fixture) exec(query string, args ...any) sql.Result {
	f.t.Helper()
	res, err := f.db.Exec(query, args...)
	if err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return res
}

func (f *fixture) id(res sql.Result) int64 {
	f.t.Helper()
	id, err := res.LastInsertId()
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.QueryRow(query, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// course adds a course of the fixture's department.
func (f *fixture) course(code string) int64 {
	f.t.Helper()
	return f.id(f.exec("INSERT INTO courses (department_id, code, title, credits, description) VALUES (?, ?, ?, 3, '')", f.dept, code, "Course "+code))
}

// student adds a student account of class year 2.
func (f *fixture) student(username string) int64 {
	f.t.Helper()
	return f.id(f.exec("INSERT INTO users (username, display_name, role, class_year) VALUES (?, ?, 'student', 2)", username, username))
}

// audit is the audit log as "action entity#id" lines, oldest first.
func (f *fixture) audit() []string {
	f.t.Helper()
	rows, err := f.db.Query("SELECT CONCAT(actor, ' ', action, ' ', entity, '#', entity_id) FROM audit_log ORDER BY id")
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// details are the before, after and reason of the newest audit row of action.
func (f *fixture) details(action string) (before, after map[string]any) {
	f.t.Helper()
	var raw []byte
	if err := f.db.QueryRow("SELECT details FROM audit_log WHERE action = ? ORDER BY id DESC LIMIT 1", action).Scan(&raw); err != nil {
		f.t.Fatalf("audit row of %s: %v", action, err)
	}
	var d struct{ Before, After map[string]any }
	if err := json.Unmarshal(raw, &d); err != nil {
		f.t.Fatal(err)
	}
	return d.Before, d.After
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
