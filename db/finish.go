package db

import (
	"context"
	"database/sql/driver"
	"fmt"
	"time"
)

// finishingConnector hands the MySQL driver contexts that are never cancelled, so a
// statement the server has started runs to its end even when its request is abandoned;
// and it lets database/sql run a read again whose connection dropped (reconnect.go).
//
// Why: on cancellation go-sql-driver/mysql closes the connection mid-statement, but the
// server's thread goes on executing it, and the pool dials a replacement at once. Under a
// rush of abandoned requests (closed tabs, proxy timeouts) the server then holds far more
// threads than the pool's size, all busy, until it refuses connections (error 1040) to
// every replica. Letting the statement finish costs at most one statement's time; the
// pool's size then bounds the server's threads.
//
// A request that ends still stops at its next statement: database/sql checks the
// context before it takes a connection, before each statement of a transaction and
// before COMMIT, and rolls an abandoned transaction back (keeping the connection, since
// the wrapped connection still offers ResetSession and IsValid). Dialling a connection
// keeps the caller's context: a half-open connection holds no server work.
type finishingConnector struct {
	driver.Connector
	txOnly bool // the connections run with autocommit off (txonly.go)
}

func (c finishingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	full, ok := conn.(mysqlConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("db: the MySQL driver's connection (%T) lacks an interface the pool relies on", conn)
	}
	if c.txOnly {
		if _, err := full.ExecContext(ctx, "SET autocommit = 0", nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("db: autocommit off: %w", err)
		}
		return &txOnlyConn{finishingConn: finishingConn{full}}, nil
	}
	return finishingConn{full}, nil
}

// mysqlConn is what go-sql-driver/mysql's connection implements and database/sql looks
// for; wrapping it must not hide any of it (without SessionResetter and Validator,
// database/sql would discard the connection of every rolled-back transaction).
type mysqlConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

type finishingConn struct{ mysqlConn }

func (c finishingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.mysqlConn.BeginTx(context.WithoutCancel(ctx), opts)
}

func (c finishingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.mysqlConn.ExecContext(context.WithoutCancel(ctx), query, args)
}

func (c finishingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	rows, err := c.mysqlConn.QueryContext(context.WithoutCancel(ctx), query, args)
	return rows, retryableRead(ctx, start, err)
}

func (c finishingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.mysqlConn.PrepareContext(context.WithoutCancel(ctx), query)
	if err != nil {
		return nil, err
	}
	full, ok := st.(mysqlStmt)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("db: the MySQL driver's statement (%T) lacks an interface the pool relies on", st)
	}
	return finishingStmt{full}, nil
}

// Ping keeps its context: it is how readiness checks give up on a server that hangs.
func (c finishingConn) Ping(ctx context.Context) error { return c.mysqlConn.Ping(ctx) }

// mysqlStmt is what go-sql-driver/mysql's prepared statement implements.
type mysqlStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
	driver.NamedValueChecker
}

type finishingStmt struct{ mysqlStmt }

func (s finishingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.mysqlStmt.ExecContext(context.WithoutCancel(ctx), args)
}

func (s finishingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	start := time.Now()
	rows, err := s.mysqlStmt.QueryContext(context.WithoutCancel(ctx), args)
	return rows, retryableRead(ctx, start, err)
}
