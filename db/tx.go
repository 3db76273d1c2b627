package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// maxAttempts bounds how often InTx runs a transaction that MySQL aborted for a deadlock
// or a lock-wait timeout.
const maxAttempts = 5

// outageWait bounds how long InTx waits out a database that is away (a dropped
// connection, a node not ready, a read-only server) before giving the error back: a
// Galera writer killed mid-rush was replaced in 3–7 s here (deploy/database.md), so 12 s
// rides through it with room. A shorter deadline on the context comes first.
const outageWait = 12 * time.Second

// The pauses between runs while the database is away: from outagePauseMin, doubling,
// at most outagePauseMax, each with jitter so the waiting requests do not all come
// back in the same millisecond.
const (
	outagePauseMin = 50 * time.Millisecond
	outagePauseMax = time.Second
)

// ErrCommitUnknown means the connection dropped after COMMIT was sent and before its
// answer came: the transaction may have been committed or not. InTx runs it again only
// when the caller said that is safe (Idempotent); otherwise the caller gets this error
// and the user a 503 (a retried request with its key is then answered, not repeated).
var ErrCommitUnknown = errors.New("the connection dropped during COMMIT: outcome unknown")

// TxOption adjusts InTx.
type TxOption func(*txOptions)

type txOptions struct {
	onRetry    func(err error)
	attempts   int
	idempotent bool
	outage     time.Duration
	prepared   *Prepared
}

// OnRetry is called each time InTx runs the transaction again, with the error that made
// it.
func OnRetry(f func(err error)) TxOption { return func(o *txOptions) { o.onRetry = f } }

// Attempts lets a transaction that is known to collide with long ones (such as the
// waiting room's opening shuffle) run up to n times instead of maxAttempts; the pauses
// grow with each attempt, so n = 15 waits out about three quarters of a second.
func Attempts(n int) TxOption { return func(o *txOptions) { o.attempts = n } }

// Idempotent says fn may run again after a COMMIT whose outcome is unknown: a second run
// finds the first one's work, if it landed, and answers from it instead of repeating it
// (a registration finds its request key recorded, or the seat already held). Without it
// such a COMMIT ends InTx with ErrCommitUnknown.
func Idempotent() TxOption { return func(o *txOptions) { o.idempotent = true } }

// OutageWait changes how long InTx waits for a database that is away (default 12 s);
// 0 gives the error back at once, for callers that would rather try again later
// themselves.
func OutageWait(d time.Duration) TxOption { return func(o *txOptions) { o.outage = d } }

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise;
// fn must therefore do nothing but database work through q, as it may run more than once.
//
// It runs fn again when the transaction certainly did not commit and trying again can
// help: after a deadlock or lock-wait timeout (1213, 1205; also a Galera certification
// conflict) up to maxAttempts times after a short random pause; and while the database
// is away (Unavailable: a dropped connection, 1047 node not ready, 1290 read-only,
// server shutting down) with growing pauses, for up to 12 s and never past ctx's
// deadline. A COMMIT whose outcome is unknown is run again only with Idempotent.
func InTx(ctx context.Context, sqldb *sql.DB, fn func(q *Queries) error, opts ...TxOption) error {
	o := txOptions{attempts: maxAttempts, outage: outageWait}
	for _, opt := range opts {
		opt(&o)
	}
	var awaySince time.Time
	contended, away := 0, 0
	for {
		err := inTx(ctx, sqldb, o.prepared, fn)
		if err == nil || ctx.Err() != nil {
			return err
		}
		var pause time.Duration
		switch {
		case Retryable(err):
			contended++
			if contended >= o.attempts {
				return err
			}
			// Jitter keeps the transactions that collided from colliding again.
			pause = time.Duration(contended) * (2*time.Millisecond + rand.N(8*time.Millisecond))
		case errors.Is(err, ErrCommitUnknown) && !o.idempotent:
			return err
		case Unavailable(err):
			if awaySince.IsZero() {
				awaySince = time.Now()
			}
			pause = min(outagePauseMin<<away, outagePauseMax)
			pause = pause/2 + rand.N(pause/2+1)
			away++
			if time.Since(awaySince)+pause > o.outage {
				return err
			}
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < pause {
				return err
			}
		default:
			return err
		}
		if o.onRetry != nil {
			o.onRetry(err)
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		}
	}
}

func inTx(ctx context.Context, sqldb *sql.DB, p *Prepared, fn func(*Queries) error) error {
	tx, err := sqldb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	var q DBTX = tx
	if p != nil {
		q = p.inTx(tx)
	}
	if err := fn(New(q)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		if commitMayHaveLanded(err) {
			return fmt.Errorf("commit: %w: %w", ErrCommitUnknown, err)
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
