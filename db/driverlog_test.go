package db_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/internal/testlog"
)

// A pooled connection the server killed is found dropped when it is next taken; the
// driver says so, and with PoolOptions.Log that line is a warning in the app's log.
func TestDriverReportsReachTheLog(t *testing.T) {
	t.Parallel()
	var out testlog.Buffer
	admin, dsn := dbtest.New(t)
	ctx := context.Background()
	pool, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpen: 1, MaxIdle: 1, Log: slog.New(slog.NewJSONHandler(&out, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	for attempt := 0; attempt < 50 && out.String() == ""; attempt++ {
		var id int64
		if err := pool.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.ExecContext(ctx, "KILL CONNECTION ?", id); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // the server closes the socket after answering KILL
		var one int
		if err := pool.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			t.Fatalf("the pool did not replace the killed connection: %v", err)
		}
	}
	got := out.String()
	if !strings.Contains(got, `"level":"WARN","msg":"mysql driver"`) {
		t.Fatalf("the driver's report did not reach the log as a warning; the log holds %q", got)
	}
	t.Logf("the log: %s", strings.TrimSpace(got))
}
