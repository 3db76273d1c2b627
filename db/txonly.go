package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
)

// A pool opened with PoolOptions.TxOnly runs its connections with autocommit off (set
// when each connects), so a transaction begins with its first statement and BeginTx
// sends nothing: a registration's transaction makes one round trip fewer. START
// TRANSACTION cost mariadbd about 55 µs of CPU on the connection's thread, a fifteenth of
// an `enrolled` answer's, and the app a write and a wake-up (BENCHMARKS.md, "sixteenth").
//
// Such a connection is in a transaction from its first statement to the next COMMIT or
// ROLLBACK, so the pool refuses every statement outside a database/sql transaction
// (errOutsideTx): a read on it would otherwise hold a snapshot, and any locks it took,
// until some later transaction on the connection ended. Preparing a statement does not
// begin a transaction, and is allowed.

// Deferred marks the context of an Exec in a transaction on a TxOnly pool whose result
// the caller does not use: the statement is not sent then, but in one packet with the
// transaction's next one, or with its COMMIT. A registration's last two writes and its
// COMMIT so take one round trip instead of three (BENCHMARKS.md, "seventeenth"). The Exec
// returns driver.ResultNoRows; should the statement fail, the next statement (or the
// COMMIT) fails with its error, and the server, which stops at a failed statement, has run
// none after it: the transaction is rolled back as for any failed statement. Its
// arguments are read when it is sent, so they must not change after the call. On any
// other pool the Exec runs at once.
func Deferred(ctx context.Context) context.Context {
	return context.WithValue(ctx, deferredKey{}, true)
}

type deferredKey struct{}

func deferred(ctx context.Context) bool { return ctx.Value(deferredKey{}) != nil }

// errOutsideTx: a statement sent to a TxOnly pool outside a transaction.
var errOutsideTx = errors.New("db: a TxOnly pool runs statements in transactions only (InTx)")

// errTxOptions: a transaction on a TxOnly pool with options that need START TRANSACTION.
var errTxOptions = errors.New("db: a TxOnly pool runs read-write transactions at the server's isolation level only")

// txOnlyConn is a finishingConn whose session has autocommit off. database/sql uses a
// connection from one goroutine at a time, so inTx needs no lock.
type txOnlyConn struct {
	finishingConn
	inTx bool
	// txCtx is the context the transaction began with, without its cancellation: its
	// COMMIT or ROLLBACK carries its values, as its statements do (driver.Tx has none).
	txCtx context.Context
	// pending is the deferred statements not sent yet, each ending in ";\n", and args
	// their parameters in order: the driver interpolates them with the next statement's
	// (the pool's connections allow multi-statements, see Open).
	pending strings.Builder
	args    []driver.NamedValue
}

// deferExec keeps a deferred statement for the next packet.
func (c *txOnlyConn) deferExec(query string, args []driver.NamedValue) (driver.Result, error) {
	c.pending.WriteString(query)
	c.pending.WriteString(";\n")
	c.args = append(c.args, args...)
	return driver.ResultNoRows, nil
}

// withPending returns query with the deferred statements before it, and clears them.
func (c *txOnlyConn) withPending(query string, args []driver.NamedValue) (string, []driver.NamedValue) {
	if c.pending.Len() == 0 {
		return query, args
	}
	c.pending.WriteString(query)
	query, args = c.pending.String(), append(c.args, args...)
	for i := range args {
		args[i].Ordinal = i + 1
	}
	c.dropPending()
	return query, args
}

func (c *txOnlyConn) dropPending() { c.pending.Reset(); c.args = nil }

// flush sends the deferred statements on their own, before a prepared statement, which
// travels in a packet of its own kind.
func (c *txOnlyConn) flush(ctx context.Context) error {
	if c.pending.Len() == 0 {
		return nil
	}
	query, args := c.withPending("", nil)
	_, err := c.finishingConn.ExecContext(ctx, strings.TrimSuffix(query, ";\n"), args)
	return err
}

func (c *txOnlyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != 0 || opts.ReadOnly {
		return nil, errTxOptions
	}
	if c.inTx {
		// database/sql never begins twice; a connection that looks so is not trusted.
		return nil, driver.ErrBadConn
	}
	c.inTx, c.txCtx = true, context.WithoutCancel(ctx)
	return txOnlyTx{c}, nil
}

func (c *txOnlyConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if !c.inTx {
		return nil, errOutsideTx
	}
	if deferred(ctx) {
		return c.deferExec(query, args)
	}
	query, args = c.withPending(query, args)
	return c.finishingConn.ExecContext(ctx, query, args)
}

func (c *txOnlyConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if !c.inTx {
		return nil, errOutsideTx
	}
	// The driver skips the deferred statements' results, which have no rows.
	query, args = c.withPending(query, args)
	return c.finishingConn.QueryContext(ctx, query, args)
}

func (c *txOnlyConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.finishingConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return txOnlyStmt{st.(finishingStmt), c, query}, nil
}

// ResetSession refuses a connection handed back with its transaction still open, which
// database/sql's own Commit and Rollback never leave; the pool then closes it.
func (c *txOnlyConn) ResetSession(ctx context.Context) error {
	if c.inTx {
		return driver.ErrBadConn
	}
	return c.finishingConn.ResetSession(ctx)
}

// end sends COMMIT or ROLLBACK. A connection that may still be in its transaction
// afterwards (the statement failed, and so did a ROLLBACK after it) is closed: the pool
// then drops it instead of lending a transaction's leftovers to the next one.
func (c *txOnlyConn) end(stmt string) error {
	ctx := c.txCtx
	c.inTx, c.txCtx = false, nil
	rollback := stmt == "ROLLBACK"
	var args []driver.NamedValue
	if rollback {
		c.dropPending() // never sent: nothing to undo
	} else {
		stmt, args = c.withPending(stmt, nil)
	}
	_, err := c.finishingConn.ExecContext(ctx, stmt, args)
	if err == nil {
		return nil
	}
	if !rollback {
		if _, rerr := c.finishingConn.ExecContext(ctx, "ROLLBACK", nil); rerr == nil {
			return err
		}
	}
	c.mysqlConn.Close()
	return err
}

type txOnlyTx struct{ c *txOnlyConn }

// Commit's errors are the driver's for a COMMIT it executes (see commitMayHaveLanded),
// but for one it could not send at all: driver.ErrBadConn, as nothing was committed.
func (t txOnlyTx) Commit() error   { return t.c.end("COMMIT") }
func (t txOnlyTx) Rollback() error { return t.c.end("ROLLBACK") }

// txOnlyStmt is a statement prepared on a txOnlyConn: it too runs in transactions only.
// Deferred, it waits as the text of its query does.
type txOnlyStmt struct {
	finishingStmt
	c     *txOnlyConn
	query string
}

func (s txOnlyStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if !s.c.inTx {
		return nil, errOutsideTx
	}
	if deferred(ctx) {
		return s.c.deferExec(s.query, args)
	}
	if err := s.c.flush(ctx); err != nil {
		return nil, err
	}
	return s.finishingStmt.ExecContext(ctx, args)
}

func (s txOnlyStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if !s.c.inTx {
		return nil, errOutsideTx
	}
	if err := s.c.flush(ctx); err != nil {
		return nil, err
	}
	return s.finishingStmt.QueryContext(ctx, args)
}
