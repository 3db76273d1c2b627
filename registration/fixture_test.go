package registration_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/registration"
)

// now is the fixture's clock: inside the registration window.
var now = time.Date(2027, 2, 15, 10, 0, 0, 0, time.UTC)

// world is a term with a registration window open, and helpers to add to it.
type world struct {
	t    *testing.T
	db   *sql.DB
	dsn  string
	q    *db.Queries
	svc  *registration.Service
	reg  *prometheus.Registry // the service's metrics
	term int64
	dept int64
	n    int
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sqldb, dsn := dbtest.New(t)
	w := &world{t: t, db: sqldb, dsn: dsn, q: db.New(sqldb)}
	ctx := context.Background()
	var err error
	if w.dept, err = w.q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "Computer Science"}); err != nil {
		t.Fatal(err)
	}
	if w.term, err = w.q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: now.AddDate(0, 1, 0), EndsOn: now.AddDate(0, 5, 0)}); err != nil {
		t.Fatal(err)
	}
	w.window(nil, "registration", now.Add(-time.Hour), now.Add(time.Hour))
	w.reg = prometheus.NewRegistry()
	w.svc = w.replica(w.reg)
	return w
}

// replica is a registration service on the world's database, as one replica of the app
// runs it: its transactions on a TxOnly pool of its own, the fixture's clock.
func (w *world) replica(reg *prometheus.Registry) *registration.Service {
	w.t.Helper()
	svc := registration.New(w.db, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	svc.TransactOn(dbtest.TxPool(w.t, w.dsn))
	svc.SetClock(func() time.Time { return now })
	return svc
}

// exec runs a statement as staff or the registrar's systems would: its change is in the
// catalog the next request checks, because exec bumps the catalog version after it, as
// every writer of the catalog does (for a statement that is not the catalog's, the bump
// only costs a reload).
func (w *world) exec(query string, args ...any) sql.Result {
	w.t.Helper()
	res, err := w.db.Exec(query, args...)
	if err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
	if err := w.q.BumpCatalogVersion(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	return res
}

func (w *world) id(res sql.Result) int64 {
	id, err := res.LastInsertId()
	if err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *world) window(classYear any, phase string, opens, closes time.Time) {
	w.exec("INSERT INTO registration_windows (term_id, class_year, phase, opens_at, closes_at) VALUES (?, ?, ?, ?, ?)",
		w.term, classYear, phase, opens, closes)
}

// students adds n students of class year 2 with the given credit limit.
func (w *world) students(n, creditLimit int) []int64 {
	rows := make([][]any, n)
	names := make([]string, n)
	for i := range rows {
		w.n++
		names[i] = fmt.Sprintf("s%05d", w.n)
		rows[i] = []any{names[i], "Student " + names[i], "student", 2, creditLimit}
	}
	if err := w.q.BulkInsert(context.Background(), "users", []string{"username", "display_name", "role", "class_year", "credit_limit"}, rows); err != nil {
		w.t.Fatal(err)
	}
	ids := make([]int64, n)
	for i, name := range names {
		if err := w.db.QueryRow("SELECT id FROM users WHERE username = ?", name).Scan(&ids[i]); err != nil {
			w.t.Fatal(err)
		}
	}
	return ids
}

func (w *world) student() int64 { return w.students(1, 18)[0] }

// course adds a course with the given credits.
func (w *world) course(code string, credits int) int64 {
	return w.id(w.exec("INSERT INTO courses (department_id, code, title, credits, description) VALUES (?, ?, ?, ?, '')",
		w.dept, code, "Course "+code, credits))
}

// section adds a section meeting on weekday from start to end (minutes after midnight).
func (w *world) section(course int64, number string, capacity, weekday, start, end int) int64 {
	id := w.id(w.exec("INSERT INTO sections (course_id, term_id, number, capacity) VALUES (?, ?, ?, ?)", course, w.term, number, capacity))
	w.exec("INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (?, ?, ?, ?)", id, weekday, start, end)
	return id
}

func (w *world) register(student, section int64) registration.Outcome {
	w.t.Helper()
	return w.do(w.svc.Register, student, section)
}

func (w *world) join(student, section int64) registration.Outcome {
	w.t.Helper()
	return w.do(w.svc.JoinWaitlist, student, section)
}

func (w *world) drop(student, section int64) registration.Outcome {
	w.t.Helper()
	return w.do(w.svc.Drop, student, section)
}

func (w *world) leave(student, section int64) registration.Outcome {
	w.t.Helper()
	return w.do(w.svc.LeaveWaitlist, student, section)
}

// do sends one request without a key; an error fails the test.
func (w *world) do(f func(context.Context, registration.Request) (registration.Outcome, error), student, section int64) registration.Outcome {
	w.t.Helper()
	out, err := f(context.Background(), registration.Request{StudentID: student, SectionID: section})
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// checkInvariants: for every section, enrolled equals its enrollment rows, held is not
// negative, and enrolled + held never exceeds capacity.
func (w *world) checkInvariants() {
	w.t.Helper()
	rows, err := w.db.Query(`SELECT s.id, s.capacity, s.enrolled, s.held, COUNT(e.id)
		FROM sections s LEFT JOIN enrollments e ON e.section_id = s.id GROUP BY s.id`)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, capacity, enrolled, held, count int
		if err := rows.Scan(&id, &capacity, &enrolled, &held, &count); err != nil {
			w.t.Fatal(err)
		}
		if enrolled != count || held < 0 || enrolled+held > capacity {
			w.t.Errorf("section %d: capacity %d, enrolled %d, held %d, enrollment rows %d", id, capacity, enrolled, held, count)
		}
	}
	var dup int
	if err := w.db.QueryRow(`SELECT COUNT(*) FROM (SELECT user_id FROM enrollments GROUP BY user_id, course_id, term_id HAVING COUNT(*) > 1) d`).Scan(&dup); err != nil || dup != 0 {
		w.t.Errorf("%d students hold two sections of one course (%v)", dup, err)
	}
}

func (w *world) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(query, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}
