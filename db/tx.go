package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/go-sql-driver/mysql"
)

// maxAttempts bounds how often InTx runs a transaction that MySQL aborted for a deadlock
// or a lock-wait timeout.
const maxAttempts = 5

// TxOption adjusts InTx.
type TxOption func(*txOptions)

type txOptions struct {
	onRetry  func(err error)
	attempts int
}

// OnRetry is called each time InTx runs the transaction again, with the error that made
// it.
func OnRetry(f func(err error)) TxOption { return func(o *txOptions) { o.onRetry = f } }

// Attempts lets a transaction that is known to collide with long ones (such as the
// waiting room's opening shuffle) run up to n times instead of maxAttempts; the pauses
// grow with each attempt, so n = 15 waits out about three quarters of a second.
func Attempts(n int) TxOption { return func(o *txOptions) { o.attempts = n } }

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise.
// A deadlock (1213) or lock-wait timeout (1205) rolls the whole transaction back, so fn
// runs again from the start, up to maxAttempts times, after a short random pause; fn must
// therefore do nothing but database work through q.
func InTx(ctx context.Context, sqldb *sql.DB, fn func(q *Queries) error, opts ...TxOption) error {
	o := txOptions{attempts: maxAttempts}
	for _, opt := range opts {
		opt(&o)
	}
	for attempt := 1; ; attempt++ {
		err := inTx(ctx, sqldb, fn)
		if err == nil || !Retryable(err) || attempt >= o.attempts {
			return err
		}
		if o.onRetry != nil {
			o.onRetry(err)
		}
		// Jitter keeps the transactions that collided from colliding again.
		pause := time.Duration(attempt) * (2*time.Millisecond + rand.N(8*time.Millisecond))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		}
	}
}

func inTx(ctx context.Context, sqldb *sql.DB, fn func(*Queries) error) error {
	tx, err := sqldb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(New(tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Retryable reports whether err is a deadlock or lock-wait timeout, after which MySQL has
// rolled the transaction back and running it again is safe.
func Retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// IsDuplicate reports whether err is a UNIQUE key violation (1062).
func IsDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

// IsCheckFailed reports whether a CHECK constraint refused a row (MariaDB 4025, MySQL
// 3819): the schema's own last line behind the forms' validation.
func IsCheckFailed(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 4025 || me.Number == 3819)
}
