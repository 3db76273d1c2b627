package registration_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/registration"
)

// A registration or a drop whose COMMIT's answer never came (the database failed over
// just then) is resolved by its request key: run again, it finds the key recorded if the
// first COMMIT landed and gives that answer, or applies the request if it did not. The
// student is told the truth and nothing is applied twice.
func TestRequestWithUnknownCommitOutcome(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 30, 1, 540, 615)
	proxy, proxied := dbtest.NewProxy(t, w.dsn)
	ctx := context.Background()
	pool, err := db.Open(ctx, proxied, db.PoolOptions{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	txPool, err := db.Open(ctx, proxied, db.PoolOptions{MaxOpen: 4, TxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer txPool.Close()
	svc := registration.New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	svc.TransactOn(txPool)
	svc.SetClock(func() time.Time { return now })

	held := func(st int64) int {
		var n int
		if err := w.db.QueryRow("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ?", st, sec).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		name string
		drop func()
	}{{"landed", proxy.DropAfterCommit}, {"never sent", proxy.DropBeforeCommit}} {
		t.Run(c.name, func(t *testing.T) {
			st := w.student()
			before := proxy.Dropped()
			c.drop()
			out, err := svc.Register(ctx, registration.Request{StudentID: st, SectionID: sec, Key: "reg-" + c.name})
			if err != nil || out.Result != registration.Enrolled || held(st) != 1 {
				t.Fatalf("register across a broken COMMIT: %v, %+v; %d enrollments", err, out.Result, held(st))
			}
			c.drop()
			out, err = svc.Drop(ctx, registration.Request{StudentID: st, SectionID: sec, Key: "drop-" + c.name})
			if err != nil || out.Result != registration.Dropped || held(st) != 0 {
				t.Fatalf("drop across a broken COMMIT: %v, %+v; %d enrollments", err, out.Result, held(st))
			}
			if proxy.Dropped()-before != 2 {
				t.Errorf("the proxy broke %d COMMITs, want 2", proxy.Dropped()-before)
			}
			// The keys keep their answers.
			out, err = svc.Register(ctx, registration.Request{StudentID: st, SectionID: sec, Key: "reg-" + c.name})
			if err != nil || out.Result != registration.Enrolled || !out.Replayed || held(st) != 0 {
				t.Errorf("the registration's key again: %v, %+v (replayed %v); %d enrollments", err, out.Result, out.Replayed, held(st))
			}
		})
	}
	w.checkInvariants()
}
