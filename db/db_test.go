package db_test

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
)

func TestMigrateIsIdempotent(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	v1, err := db.Migrate(context.Background(), sqldb)
	if err != nil {
		t.Fatal(err)
	}
	v2, err := db.Migrate(context.Background(), sqldb)
	if err != nil || v1 != v2 || v1 < 1 {
		t.Fatalf("versions %d then %d (%v)", v1, v2, err)
	}
}

func fixture(t *testing.T, sqldb *sql.DB) (courseID, termID int64) {
	t.Helper()
	ctx := context.Background()
	q := db.New(sqldb)
	dept, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "Computer Science"})
	if err != nil {
		t.Fatal(err)
	}
	if courseID, err = q.InsertCourse(ctx, db.InsertCourseParams{DepartmentID: dept, Code: "CS101", Title: "Programming", Credits: 3}); err != nil {
		t.Fatal(err)
	}
	termID, err = q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return courseID, termID
}

// The schema itself refuses an oversold or negative section, whatever the code does.
func TestSectionSeatsConstraint(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	course, term := fixture(t, sqldb)
	res, err := sqldb.Exec("INSERT INTO sections (course_id, term_id, number, capacity) VALUES (?, ?, '01', 2)", course, term)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	for _, enrolled := range []int{3, -1} {
		if _, err := sqldb.Exec("UPDATE sections SET enrolled = ? WHERE id = ?", enrolled, id); err == nil {
			t.Errorf("enrolled = %d of capacity 2 was accepted", enrolled)
		}
	}
	if _, err := sqldb.Exec("UPDATE sections SET enrolled = 2 WHERE id = ?", id); err != nil {
		t.Errorf("a full section was refused: %v", err)
	}
	if _, err := sqldb.Exec("INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (?, 1, 600, 540)", id); err == nil {
		t.Error("a meeting ending before it starts was accepted")
	}
}

func TestBulkInsert(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	q := db.New(sqldb)
	var rows [][]any
	for i := range 1234 { // more than two statements' worth
		rows = append(rows, []any{"D" + strconv.Itoa(i), "Department"})
	}
	if err := q.BulkInsert(ctx, "departments", []string{"code", "name"}, rows); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM departments").Scan(&n); err != nil || n != 1234 {
		t.Errorf("%d rows (%v), want 1234", n, err)
	}
	if err := q.BulkInsert(ctx, "departments", []string{"code", "name"}, [][]any{{"X"}}); err == nil {
		t.Error("a short row was accepted")
	}
}

func TestBulkAddAndUpsert(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	q := db.New(sqldb)
	minute := time.Date(2027, 2, 1, 9, 0, 0, 0, time.UTC)
	cols := []string{"minute_at", "result", "n"}
	for _, rows := range [][][]any{
		{{minute, "enrolled", 3}, {minute, "full", 1}},
		{{minute, "enrolled", 4}, {minute.Add(time.Minute), "enrolled", 2}},
	} {
		if err := q.BulkAdd(ctx, "registration_minutes", cols, []string{"n"}, rows); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := sqldb.QueryRow("SELECT n FROM registration_minutes WHERE minute_at = ? AND result = 'enrolled'", minute).Scan(&n); err != nil || n != 7 {
		t.Errorf("enrolled at 9:00 = %d (%v), want 3 + 4", n, err)
	}

	for _, name := range []string{"Old name", "New name"} {
		if err := q.BulkUpsert(ctx, "departments", []string{"code", "name"}, []string{"name"}, [][]any{{"CS", name}, {"MATH", "Mathematics"}}); err != nil {
			t.Fatal(err)
		}
	}
	var name string
	if err := sqldb.QueryRow("SELECT name FROM departments WHERE code = 'CS'").Scan(&name); err != nil || name != "New name" {
		t.Errorf("CS is called %q (%v), want the second upsert's name", name, err)
	}
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM departments").Scan(&n); err != nil || n != 2 {
		t.Errorf("%d departments (%v), want 2", n, err)
	}
}

func TestInTxRollsBack(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.InTx(ctx, sqldb, func(q *db.Queries) error {
		if _, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "x"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	var n int
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM departments").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d departments after a rolled-back transaction", n)
	}
}

// The counting and the delays are MySQL's, in one statement; this pins down what it
// writes. Free failures: 3 for the address, 2 for the account from it; delays from 1 s,
// at most 10 s.
func TestRecordLoginFailure(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	q := db.New(sqldb)
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	keys := func(account string) (g, a, u []byte) {
		return []byte("g"), []byte("a 192.0.2.7"), []byte("u 192.0.2.7 " + account)
	}
	fail := func(account string, at time.Time) {
		t.Helper()
		g, a, u := keys(account)
		if err := q.RecordLoginFailure(ctx, db.RecordLoginFailureParams{GlobalKey: g, AddressKey: a, AccountKey: u,
			Now: at, WindowStart: at.Add(-15 * time.Minute), AddressFree: 3, AccountFree: 2,
			BaseDelayUs: time.Second.Microseconds(), MaxDelayUs: (10 * time.Second).Microseconds()}); err != nil {
			t.Fatal(err)
		}
	}
	type state struct {
		failures int32
		window   time.Time
		blocked  time.Time // zero: never blocked
	}
	read := func(account string) (g, a, u state) {
		t.Helper()
		gk, ak, uk := keys(account)
		rows, err := q.LoginThrottleRows(ctx, db.LoginThrottleRowsParams{GlobalKey: gk, AddressKey: ak, AccountKey: uk})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]state{}
		for _, r := range rows {
			got[string(r.K)] = state{r.Failures, r.WindowStartedAt, r.BlockedUntil.Time}
		}
		return got[string(gk)], got[string(ak)], got[string(uk)]
	}
	steps := []struct {
		account string
		at      time.Duration // after t0
		g, a, u state
		wantWhy string
	}{
		{"alice", 0, state{1, t0, time.Time{}}, state{1, t0, time.Time{}}, state{1, t0, time.Time{}}, "a first failure blocks nothing"},
		{"alice", time.Minute, state{2, t0, time.Time{}}, state{2, t0, time.Time{}}, state{2, t0, time.Time{}}, "within the free failures"},
		{"alice", 2 * time.Minute, state{3, t0, time.Time{}}, state{3, t0, time.Time{}}, state{3, t0, t0.Add(2*time.Minute + time.Second)}, "the account's third failure waits the base delay"},
		{"alice", 3 * time.Minute, state{4, t0, time.Time{}}, state{4, t0, t0.Add(3*time.Minute + time.Second)}, state{4, t0, t0.Add(3*time.Minute + 2*time.Second)}, "the delay doubles; the address's fourth waits the base"},
		{"alice", 4 * time.Minute, state{5, t0, time.Time{}}, state{5, t0, t0.Add(4*time.Minute + 2*time.Second)}, state{5, t0, t0.Add(4*time.Minute + 4*time.Second)}, "doubles again"},
		{"alice", 5 * time.Minute, state{6, t0, time.Time{}}, state{6, t0, t0.Add(5*time.Minute + 4*time.Second)}, state{6, t0, t0.Add(5*time.Minute + 8*time.Second)}, "and again"},
		{"alice", 6 * time.Minute, state{7, t0, time.Time{}}, state{7, t0, t0.Add(6*time.Minute + 8*time.Second)}, state{7, t0, t0.Add(6*time.Minute + 10*time.Second)}, "the cap"},
		{"bob", 7 * time.Minute, state{8, t0, time.Time{}}, state{8, t0, t0.Add(7*time.Minute + 10*time.Second)}, state{1, t0.Add(7 * time.Minute), time.Time{}}, "another account from the address starts its own count"},
		{"alice", 16 * time.Minute, state{1, t0.Add(16 * time.Minute), time.Time{}}, state{1, t0.Add(16 * time.Minute), t0.Add(7*time.Minute + 10*time.Second)}, state{1, t0.Add(16 * time.Minute), t0.Add(6*time.Minute + 10*time.Second)}, "a new window counts afresh"},
	}
	for _, st := range steps {
		fail(st.account, t0.Add(st.at))
		g, a, u := read(st.account)
		if g != st.g || a != st.a || u != st.u {
			t.Errorf("%s (%s at +%v):\n global %+v, want %+v\n address %+v, want %+v\n account %+v, want %+v",
				st.wantWhy, st.account, st.at, g, st.g, a, st.a, u, st.u)
		}
	}
}

func TestDeleteEndedLoginThrottle(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for k, row := range map[string]struct {
		window  time.Time
		blocked any
	}{
		"ended":                 {now.Add(-16 * time.Minute), nil},
		"ended, block passed":   {now.Add(-16 * time.Minute), now.Add(-time.Second)},
		"ended, still blocked":  {now.Add(-16 * time.Minute), now.Add(time.Minute)},
		"current":               {now.Add(-14 * time.Minute), nil},
		"current, block passed": {now.Add(-time.Minute), now.Add(-time.Second)},
	} {
		if _, err := sqldb.Exec("INSERT INTO login_throttle (k, failures, window_started_at, blocked_until) VALUES (?, 9, ?, ?)", k, row.window, row.blocked); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.New(sqldb).DeleteEndedLoginThrottle(ctx, db.DeleteEndedLoginThrottleParams{
		WindowStart: now.Add(-15 * time.Minute), Now: sql.NullTime{Time: now, Valid: true}, Limit: 100})
	if err != nil || n != 2 {
		t.Fatalf("deleted %d (%v), want the 2 ended and unblocked keys", n, err)
	}
	var left int
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM login_throttle WHERE k LIKE 'ended%'").Scan(&left); err != nil || left != 1 {
		t.Errorf("%d ended keys left (%v), want only the one still blocked", left, err)
	}
}

func TestDeleteExpiredSessions(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for token, expiry := range map[string]time.Time{"old": now.Add(-time.Second), "new": now.Add(time.Hour)} {
		if _, err := sqldb.Exec("INSERT INTO sessions (token, data, expiry) VALUES (?, '', ?)", token, expiry); err != nil {
			t.Fatal(err)
		}
	}
	n, err := db.New(sqldb).DeleteExpiredSessions(context.Background(), now)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d (%v), want 1", n, err)
	}
	var left string
	if err := sqldb.QueryRow("SELECT token FROM sessions").Scan(&left); err != nil || left != "new" {
		t.Errorf("left %q (%v), want the unexpired session", left, err)
	}
}

// A deadlock runs the transaction again: maxAttempts times, or as often as Attempts says.
func TestInTxRetriesDeadlocks(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	deadlock := &mysql.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"}
	for _, c := range []struct {
		opts []db.TxOption
		want int
	}{{nil, 5}, {[]db.TxOption{db.Attempts(8)}, 8}} {
		runs := 0
		err := db.InTx(ctx, sqldb, func(q *db.Queries) error { runs++; return deadlock }, c.opts...)
		if !errors.Is(err, deadlock) || runs != c.want {
			t.Errorf("%d runs (%v), want %d", runs, err, c.want)
		}
	}
}
