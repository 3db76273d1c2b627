package db_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
)

// A transaction holds its connection; preparing a statement takes another from the pool.
// With the pool's one connection held, a transaction that waited for its statement to be
// prepared would wait for ever: it runs the statement unprepared instead, and once the
// statement is prepared (in the background) the next transactions run it prepared, on
// the same connection, where later transactions find it.
func TestPreparedInTxNeedsNoSecondConnection(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	sqldb.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := db.NewPrepared(sqldb)
	lock := func(q *db.Queries) error {
		_, err := q.LockStudentRecord(ctx, db.LockStudentRecordParams{TermID: 1, SectionID: 1, ID: 1})
		if errors.Is(err, sql.ErrNoRows) {
			return nil // nobody there: the statement ran
		}
		return err
	}
	status := func(name string) int {
		var n int
		if err := sqldb.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE ?", name).Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	executions := func() int { return status("Com_stmt_execute") }
	for runs := 1; executions() == 0; runs++ {
		if err := db.InTx(ctx, sqldb, lock, db.UsePrepared(p)); err != nil {
			t.Fatalf("transaction %d: %v", runs, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("after %d transactions, none has run its statement prepared", runs)
		}
		time.Sleep(10 * time.Millisecond) // the preparation needs the connection back
	}
	// Later transactions find the statement prepared on their connection.
	before := executions()
	for range 5 {
		if err := db.InTx(ctx, sqldb, lock, db.UsePrepared(p)); err != nil {
			t.Fatal(err)
		}
	}
	if got := executions() - before; got != 5 {
		t.Errorf("5 transactions ran the prepared statement %d times", got)
	}
	if got := status("Com_stmt_prepare"); got != 1 {
		t.Errorf("the statement was prepared %d times on the pool's one connection, want once", got)
	}
}
