package db_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
)

// txOnlyPool is dbtest.TxPool with one connection, so that every transaction of a test
// runs on the same one.
func txOnlyPool(t *testing.T, dsn string) *sql.DB {
	pool := dbtest.TxPool(t, dsn)
	pool.SetMaxOpenConns(1)
	return pool
}

// openTransactions counts the transactions InnoDB has open on the test's database (but
// admin's own), once the count is 0 or after a few seconds: InnoDB refreshes the table
// only when it was last read over 0.1 s before (by anyone: the tests run in parallel), so
// one that just ended may still show, and reads closer together would never see it go.
func openTransactions(t *testing.T, admin *sql.DB) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		err := admin.QueryRow(`SELECT COUNT(*) FROM information_schema.INNODB_TRX t
			JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE p.DB = DATABASE() AND p.ID <> CONNECTION_ID()`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// A transaction on a TxOnly pool, which sends no START TRANSACTION, is one all the same:
// its writes are nobody else's until COMMIT, all of them land together, and a rollback
// leaves none.
func TestTxOnlyTransactionsWithoutBegin(t *testing.T) {
	t.Parallel()
	admin, dsn := dbtest.New(t)
	pool := txOnlyPool(t, dsn)
	ctx := context.Background()
	var seenInside int
	err := db.InTx(ctx, pool, func(q *db.Queries) error {
		for _, code := range []string{"CS", "MATH"} {
			if _, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: code, Name: code}); err != nil {
				return err
			}
		}
		seenInside = departments(t, admin, "CS")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seenInside != 0 {
		t.Errorf("another connection saw the transaction's row before COMMIT: autocommit is on")
	}
	if departments(t, admin, "CS") != 1 || departments(t, admin, "MATH") != 1 {
		t.Errorf("after COMMIT: CS %d, MATH %d rows, want 1 each", departments(t, admin, "CS"), departments(t, admin, "MATH"))
	}

	boom := errors.New("boom")
	err = db.InTx(ctx, pool, func(q *db.Queries) error {
		if _, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "HIST", Name: "History"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx: %v, want boom", err)
	}
	if departments(t, admin, "HIST") != 0 {
		t.Error("a rolled-back transaction's row is there")
	}
	if n := openTransactions(t, admin); n != 0 {
		t.Errorf("%d transactions open after COMMIT and ROLLBACK", n)
	}
}

// Outside a transaction a TxOnly pool's connection would begin one that nothing ends: the
// pool refuses such statements, prepared or not, and runs the same ones inside.
func TestTxOnlyRefusesStatementsOutsideTransactions(t *testing.T) {
	t.Parallel()
	admin, dsn := dbtest.New(t)
	pool := txOnlyPool(t, dsn)
	ctx := context.Background()
	refused := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "TxOnly") {
			t.Errorf("%s outside a transaction: %v, want it refused", what, err)
		}
	}
	_, err := pool.ExecContext(ctx, "INSERT INTO departments (code, name) VALUES ('CS', 'x')")
	refused("exec", err)
	var n int
	refused("query", pool.QueryRowContext(ctx, "SELECT COUNT(*) FROM departments").Scan(&n))
	st, err := pool.PrepareContext(ctx, "SELECT COUNT(*) FROM departments WHERE code = ?")
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	defer st.Close()
	refused("prepared query", st.QueryRowContext(ctx, "CS").Scan(&n))
	if n := openTransactions(t, admin); n != 0 {
		t.Errorf("%d transactions open after the refused statements", n)
	}

	tx, err := pool.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err == nil {
		tx.Rollback()
		t.Error("a read-only transaction began: it needs START TRANSACTION, which the pool does not send")
	}
	tx, err = pool.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.StmtContext(ctx, st).QueryRowContext(ctx, "CS").Scan(&n); err != nil {
		t.Errorf("the prepared statement in a transaction: %v", err)
	}
	if err := tx.Commit(); err != nil {
		t.Error(err)
	}
}

// A transaction given up mid-way (its request ended) is rolled back, and its connection,
// kept by the pool, begins the next transaction clean: nothing of the first lands with it.
func TestTxOnlyAbandonedTransactionLeavesNothing(t *testing.T) {
	t.Parallel()
	admin, dsn := dbtest.New(t)
	pool := txOnlyPool(t, dsn)
	connID := func() int64 {
		tx, err := pool.Begin()
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var id int64
		if err := tx.QueryRow("SELECT CONNECTION_ID()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	before := connID()
	ctx, cancel := context.WithCancel(context.Background())
	err := db.InTx(ctx, pool, func(q *db.Queries) error {
		if _, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "x"}); err != nil {
			return err
		}
		cancel() // the client gave up
		_, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "MATH", Name: "x"})
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned transaction: %v, want context.Canceled", err)
	}
	// database/sql rolls the transaction back on its own goroutine; the next one waits
	// for the connection.
	err = db.InTx(context.Background(), pool, func(q *db.Queries) error {
		_, err := q.InsertDepartment(context.Background(), db.InsertDepartmentParams{Code: "HIST", Name: "x"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if departments(t, admin, "CS") != 0 || departments(t, admin, "MATH") != 0 || departments(t, admin, "HIST") != 1 {
		t.Errorf("CS %d, MATH %d, HIST %d rows; want 0, 0, 1",
			departments(t, admin, "CS"), departments(t, admin, "MATH"), departments(t, admin, "HIST"))
	}
	if after := connID(); after != before {
		t.Errorf("the pool dropped its connection (%d, now %d): a rollback should keep it", before, after)
	}
	if n := openTransactions(t, admin); n != 0 {
		t.Errorf("%d transactions still open", n)
	}
}

// A deferred statement travels with the transaction's next one: a read after it sees its
// row, a COMMIT lands it, a ROLLBACK drops it unsent, and its failure is the COMMIT's,
// with nothing of the transaction landed. On another pool it runs at once.
func TestTxOnlyDeferredStatements(t *testing.T) {
	t.Parallel()
	admin, dsn := dbtest.New(t)
	pool := txOnlyPool(t, dsn)
	ctx := context.Background()
	const insert = "INSERT INTO departments (code, name) VALUES (?, ?)"
	count := "SELECT COUNT(*) FROM departments WHERE code IN ('CS', 'MATH', 'HIST')"

	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.ExecContext(db.Deferred(ctx), insert, "CS", "Computer science")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.RowsAffected(); err == nil {
		t.Error("a deferred statement reported rows affected: it ran at once")
	}
	var n int
	if err := tx.QueryRowContext(ctx, count).Scan(&n); err != nil || n != 1 {
		t.Errorf("a read after a deferred insert: %d rows (%v), want 1", n, err)
	}
	// Before a prepared statement, which travels in a packet of its own kind.
	if _, err := tx.ExecContext(db.Deferred(ctx), insert, "MATH", "Mathematics"); err != nil {
		t.Fatal(err)
	}
	st, err := tx.PrepareContext(ctx, count)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.QueryRowContext(ctx).Scan(&n); err != nil || n != 2 {
		t.Errorf("a prepared read after a deferred insert: %d rows (%v), want 2", n, err)
	}
	// Prepared, deferred all the same, and sent with the COMMIT.
	ins, err := tx.PrepareContext(ctx, insert)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ins.ExecContext(db.Deferred(ctx), "HIST", "History"); err != nil {
		t.Fatal(err)
	}
	if departments(t, admin, "HIST") != 0 {
		t.Error("a deferred statement's row was there before COMMIT")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if departments(t, admin, "CS") != 1 || departments(t, admin, "MATH") != 1 || departments(t, admin, "HIST") != 1 {
		t.Errorf("after COMMIT: CS %d, MATH %d, HIST %d rows, want 1 each",
			departments(t, admin, "CS"), departments(t, admin, "MATH"), departments(t, admin, "HIST"))
	}

	// Through Queries (an :exec, whose result nobody reads), rolled back: never sent.
	rename := func(q *db.Queries, ctx context.Context, id int64, code string) error {
		return q.UpdateDepartment(ctx, db.UpdateDepartmentParams{ID: id, Code: code, Name: code})
	}
	err = db.InTx(ctx, pool, func(q *db.Queries) error {
		id, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "ART", Name: "Art"})
		if err != nil {
			return err
		}
		if err := rename(q, db.Deferred(ctx), id, "FINEART"); err != nil {
			return err
		}
		return errors.New("boom")
	})
	if err == nil || departments(t, admin, "ART") != 0 || departments(t, admin, "FINEART") != 0 {
		t.Errorf("a rolled-back transaction with a deferred statement: %v, ART %d, FINEART %d rows",
			err, departments(t, admin, "ART"), departments(t, admin, "FINEART"))
	}

	// A deferred statement that fails: the COMMIT answers with its error, and neither the
	// statements before it nor the one after it landed.
	err = db.InTx(ctx, pool, func(q *db.Queries) error {
		id, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "BIO", Name: "Biology"})
		if err != nil {
			return err
		}
		if err := rename(q, db.Deferred(ctx), id, "CS"); err != nil {
			return err
		}
		return rename(q, db.Deferred(ctx), id, "CHEM")
	})
	if !db.IsDuplicate(err) {
		t.Errorf("a deferred duplicate: InTx %v, want the duplicate key", err)
	}
	if departments(t, admin, "BIO") != 0 || departments(t, admin, "CHEM") != 0 {
		t.Errorf("a transaction whose deferred statement failed left BIO %d, CHEM %d rows",
			departments(t, admin, "BIO"), departments(t, admin, "CHEM"))
	}
	if n := openTransactions(t, admin); n != 0 {
		t.Errorf("%d transactions open", n)
	}

	// Any other pool runs it at once.
	err = db.InTx(ctx, admin, func(q *db.Queries) error {
		id, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "PHYS", Name: "Physics"})
		if err != nil {
			return err
		}
		return rename(q, db.Deferred(ctx), id, "ASTRO")
	})
	if err != nil || departments(t, admin, "ASTRO") != 1 {
		t.Errorf("deferred on a plain pool: %v, %d rows", err, departments(t, admin, "ASTRO"))
	}
}
