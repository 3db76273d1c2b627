package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
)

// A pool signed in as an account granted on the test's database only (dbtest.User), as
// the app's is in production: read_only applies to it, and its connections can be told
// apart from the admin's.
func appPool(t *testing.T, dsn string, opts db.PoolOptions) (*sql.DB, string) {
	t.Helper()
	dsn = dbtest.User(t, dsn)
	cfg, err := db.Config(dsn)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	return pool, cfg.User
}

func departments(t *testing.T, sqldb *sql.DB, code string) int {
	t.Helper()
	var n int
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM departments WHERE code = ?", code).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The server kills the connection in the middle of a transaction (as when a Galera node
// or the proxy in front of it goes away): the server rolled the first run back, and InTx
// runs the transaction again on a new connection; both statements land once.
func TestInTxRidesThroughAKilledConnection(t *testing.T) {
	t.Parallel()
	for _, txOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("TxOnly %v", txOnly), func(t *testing.T) {
			t.Parallel()
			ridesThroughAKilledConnection(t, txOnly)
		})
	}
}

func ridesThroughAKilledConnection(t *testing.T, txOnly bool) {
	admin, dsn := dbtest.New(t)
	app, user := appPool(t, dsn, db.PoolOptions{MaxOpen: 1, TxOnly: txOnly})
	ctx := context.Background()
	runs := 0
	var retried []error
	err := db.InTx(ctx, app, func(q *db.Queries) error {
		runs++
		if _, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "CS", Name: "Computer Science"}); err != nil {
			return err
		}
		if runs == 1 {
			var id int64
			if err := admin.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ?", user).Scan(&id); err != nil {
				t.Fatalf("find the app's connection: %v", err)
			}
			if _, err := admin.Exec("KILL CONNECTION ?", id); err != nil {
				t.Fatalf("kill the app's connection: %v", err)
			}
		}
		_, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "MATH", Name: "Mathematics"})
		return err
	}, db.OnRetry(func(err error) { retried = append(retried, err) }))
	if err != nil {
		t.Fatalf("InTx after a killed connection: %v (retried on %v)", err, retried)
	}
	if runs != 2 || len(retried) != 1 || !db.Unavailable(retried[0]) {
		t.Errorf("%d runs, retried on %v: want 2 runs, one retry on a dropped connection", runs, retried)
	}
	if departments(t, admin, "CS") != 1 || departments(t, admin, "MATH") != 1 {
		t.Errorf("CS %d, MATH %d rows: want each once", departments(t, admin, "CS"), departments(t, admin, "MATH"))
	}
}

// A server that refuses writes for a while (read_only, as a replica does, or a node being
// demoted) is waited out: InTx keeps trying until it is writable again. With OutageWait(0)
// the caller gets the refusal at once, and nothing was written.
func TestInTxWaitsOutAReadOnlyServer(t *testing.T) {
	// Not parallel: read_only is server-wide (the stack's own account, which every other
	// test uses, may write through it; this test's account may not).
	admin, dsn := dbtest.New(t)
	app, _ := appPool(t, dsn, db.PoolOptions{MaxOpen: 4})
	ctx := context.Background()
	setReadOnly := func(on bool) {
		v := "0"
		if on {
			v = "1"
		}
		// Setting it waits for the write statements in flight on the whole server, the
		// tests of other packages among them, and one of those may wait for a row lock
		// held by a transaction that waits for it (MariaDB sees no deadlock there): give
		// up after 2 s and set it again, rather than stall until the driver's timeout.
		deadline := time.Now().Add(time.Minute)
		for {
			_, err := admin.Exec("SET STATEMENT lock_wait_timeout = 2 FOR SET GLOBAL read_only = " + v)
			if err == nil {
				return
			}
			if !db.Retryable(err) || time.Now().After(deadline) {
				t.Fatal(err)
			}
		}
	}
	setReadOnly(true)
	t.Cleanup(func() { setReadOnly(false) })

	insert := func(code string) func(q *db.Queries) error {
		return func(q *db.Queries) error {
			_, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: code, Name: code})
			return err
		}
	}
	err := db.InTx(ctx, app, insert("HIST"), db.OutageWait(0))
	if !db.Unavailable(err) {
		t.Fatalf("write on a read-only server: %v, want an unavailable error", err)
	}

	var retries atomic.Int32
	writable := make(chan struct{})
	go func() {
		defer close(writable)
		for retries.Load() < 3 {
			time.Sleep(20 * time.Millisecond)
		}
		setReadOnly(false)
	}()
	err = db.InTx(ctx, app, insert("PHYS"), db.OnRetry(func(error) { retries.Add(1) }))
	<-writable
	if err != nil {
		t.Fatalf("InTx across a read-only spell: %v", err)
	}
	if retries.Load() < 3 {
		t.Errorf("%d retries: the write went through while the server was read-only", retries.Load())
	}
	if departments(t, admin, "HIST") != 0 || departments(t, admin, "PHYS") != 1 {
		t.Errorf("HIST %d, PHYS %d rows: want 0 and 1", departments(t, admin, "HIST"), departments(t, admin, "PHYS"))
	}
}

// A COMMIT whose answer never came may have landed or not. InTx runs it again only for a
// transaction that says it is Idempotent (it finds its own work and answers from it, here
// by a UNIQUE key as registration does with its request key); any other gets
// ErrCommitUnknown. Either way, nothing is written twice.
func TestInTxCommitWithUnknownOutcome(t *testing.T) {
	t.Parallel()
	admin, dsn := dbtest.New(t)
	proxy, proxied := dbtest.NewProxy(t, dsn)
	plain, err := db.Open(context.Background(), proxied, db.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	txOnly, err := db.Open(context.Background(), proxied, db.PoolOptions{MaxOpen: 2, TxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer txOnly.Close()
	ctx := context.Background()
	for _, app := range []*sql.DB{plain, txOnly} {
		for _, c := range []struct {
			name       string
			drop       func()
			idempotent bool
			wantErr    bool
			wantRuns   int
			wantRows   int
		}{
			{"landed, not idempotent", proxy.DropAfterCommit, false, true, 1, 1},
			{"landed, idempotent", proxy.DropAfterCommit, true, false, 2, 1},
			{"never sent, not idempotent", proxy.DropBeforeCommit, false, true, 1, 0},
			{"never sent, idempotent", proxy.DropBeforeCommit, true, false, 2, 1},
		} {
			t.Run(fmt.Sprintf("%s, TxOnly %v", c.name, app == txOnly), func(t *testing.T) {
				code := "D" + string(rune('A'+proxy.Dropped()))
				var opts []db.TxOption
				if c.idempotent {
					opts = append(opts, db.Idempotent())
				}
				runs, found := 0, false
				c.drop()
				err := db.InTx(ctx, app, func(q *db.Queries) error {
					runs++
					_, err := q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: code, Name: c.name})
					if db.IsDuplicate(err) {
						found = true // the first run's commit landed: done already
						return nil
					}
					return err
				}, opts...)
				if c.wantErr != errors.Is(err, db.ErrCommitUnknown) || !c.wantErr && err != nil {
					t.Fatalf("InTx: %v; want ErrCommitUnknown: %v", err, c.wantErr)
				}
				if runs != c.wantRuns || departments(t, admin, code) != c.wantRows {
					t.Errorf("%d runs, %d rows; want %d runs, %d rows", runs, departments(t, admin, code), c.wantRuns, c.wantRows)
				}
				if c.idempotent && found != (c.wantRows == 1 && c.name == "landed, idempotent") {
					t.Errorf("the second run found the first one's row: %v", found)
				}
			})
		}
	}
	if proxy.Dropped() != 8 {
		t.Errorf("the proxy broke %d COMMITs, want 8", proxy.Dropped())
	}
}

// A database that stays away is given up on: after OutageWait, or at the context's
// deadline when that comes first, with an error that says the database is unavailable.
func TestInTxGivesUpOnAnAbsentDatabase(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: every connection is refused
	cfg, err := db.Config(dbtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr = addr
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	absent := sql.OpenDB(connector)
	defer absent.Close()
	for _, c := range []struct {
		name    string
		timeout time.Duration
		opts    []db.TxOption
	}{
		{"OutageWait", time.Minute, []db.TxOption{db.OutageWait(300 * time.Millisecond)}},
		{"deadline", 300 * time.Millisecond, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
			defer cancel()
			retries := 0
			err := db.InTx(ctx, absent, func(q *db.Queries) error { return nil },
				append(c.opts, db.OnRetry(func(error) { retries++ }))...)
			if !db.Unavailable(err) || retries == 0 {
				t.Errorf("InTx with the database absent: %v after %d retries; want an unavailable error after some", err, retries)
			}
		})
	}
}

// A read whose connection is killed while it runs (a Galera writer dying under it) is
// run again on another connection by database/sql: the caller gets the answer, not the
// dropped connection.
func TestReadRidesThroughAKilledConnection(t *testing.T) {
	t.Parallel()
	admin, dsn := dbtest.New(t)
	app, user := appPool(t, dsn, db.PoolOptions{MaxOpen: 2})
	ctx := context.Background()
	killed := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			var id int64
			err := admin.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE 'SELECT%SLEEP%'", user).Scan(&id)
			if err == nil {
				_, err = admin.Exec("KILL CONNECTION ?", id)
				killed <- err
				return
			}
			if i == 500 {
				killed <- errors.New("the query never showed in the process list")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var answer, slept int
	if err := app.QueryRowContext(ctx, "SELECT 42, SLEEP(1)").Scan(&answer, &slept); err != nil || answer != 42 {
		t.Fatalf("read across a killed connection: %d, %v", answer, err)
	}
	if err := <-killed; err != nil {
		t.Fatalf("kill the read's connection: %v", err)
	}
	// The same through a prepared statement, as the registration's first read is.
	stmt, err := app.PrepareContext(ctx, "SELECT 43, SLEEP(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	go func() {
		for i := 0; i < 500; i++ {
			var id int64
			if admin.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE 'SELECT%SLEEP%'", user).Scan(&id) == nil {
				_, err := admin.Exec("KILL CONNECTION ?", id)
				killed <- err
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		killed <- errors.New("the prepared query never showed in the process list")
	}()
	if err := stmt.QueryRowContext(ctx).Scan(&answer, &slept); err != nil || answer != 43 {
		t.Fatalf("prepared read across a killed connection: %d, %v", answer, err)
	}
	if err := <-killed; err != nil {
		t.Fatalf("kill the prepared read's connection: %v", err)
	}
}
