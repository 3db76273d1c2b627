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
// the same connection.
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
	executions := func() int {
		var name string
		var n int
		if err := sqldb.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Com_stmt_execute'").Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for runs := 1; executions() == 0; runs++ {
		if err := db.InTx(ctx, sqldb, lock, db.UsePrepared(p)); err != nil {
			t.Fatalf("transaction %d: %v", runs, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("after %d transactions, none has run its statement prepared", runs)
		}
		time.Sleep(10 * time.Millisecond) // the preparation needs the connection back
	}
}
