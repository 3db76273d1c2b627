package db_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
)

// Abandoned statements must not turn into extra server threads: the server's threads for
// the app's database stay within the pool's size however many requests give up
// mid-statement, and the pool keeps its connections.
func TestAbandonedStatementsKeepThePoolsConnections(t *testing.T) {
	sqldb, dsn := dbtest.New(t)
	ctx := context.Background()
	const poolSize = 4
	sqldb.SetMaxOpenConns(poolSize)
	sqldb.SetMaxIdleConns(poolSize)
	cfg, err := db.Config(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := db.Open(ctx, dbtest.DSN(t), db.PoolOptions{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	var wg sync.WaitGroup
	var abandoned atomic.Int64
	for range 4 * poolSize {
		wg.Go(func() {
			for range 3 {
				qctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
				var n int
				err := sqldb.QueryRowContext(qctx, "SELECT SLEEP(0.3) + 1").Scan(&n)
				if qctx.Err() != nil {
					abandoned.Add(1)
				}
				cancel()
				// The answer may still arrive (the statement finished) or the
				// context's error; nothing else.
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("abandoned query: %v", err)
				}
			}
		})
	}
	threads := 0
	for range 12 {
		time.Sleep(50 * time.Millisecond)
		var n int
		if err := admin.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = ?", cfg.DBName).Scan(&n); err != nil {
			t.Fatal(err)
		}
		threads = max(threads, n)
	}
	wg.Wait()
	if abandoned.Load() == 0 {
		t.Fatal("no query was abandoned: the test proves nothing")
	}
	if threads > poolSize {
		t.Errorf("the server ran %d threads for a pool of %d: abandoned statements left threads behind", threads, poolSize)
	}
	if threads == 0 {
		t.Error("saw no server thread at all: the sampling is broken")
	}
	// The pool still answers, on connections it kept.
	var one int
	if err := sqldb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the abandoned queries: %d, %v", one, err)
	}
	t.Logf("figures: server threads at most %d for a pool of %d while %d clients gave up mid-statement", threads, poolSize, 4*poolSize)
}
