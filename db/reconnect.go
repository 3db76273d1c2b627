package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
)

// A query whose connection drops while it runs fails with mysql.ErrInvalidConn, which
// database/sql does not retry: the driver cannot know whether a statement it sent was
// applied. A query is a read (the app sends no INSERT … RETURNING), so running it again
// is safe; reporting the connection as bad (driver.ErrBadConn) lets database/sql run it
// on another connection. When a Galera writer dies, that turns the reads in flight (a
// session, a student's basket) from a 503 into an answer from the next writer. Inside a
// transaction database/sql retries nothing, and InTx takes the error as a dropped
// connection as before. Statements other than queries (Exec, COMMIT) keep the driver's
// error: their outcome is unknown.

// retryReads wraps the driver's connector.
type retryReads struct{ driver.Connector }

func (c retryReads) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	inner, ok := conn.(mysqlConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("the MySQL driver's connection (%T) lacks an interface database/sql uses", conn)
	}
	return &readConn{inner}, nil
}

// mysqlConn is what go-sql-driver/mysql's connection implements and database/sql
// looks for; readConn passes all of it through.
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

type readConn struct{ mysqlConn }

func (c *readConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.mysqlConn.QueryContext(ctx, query, args)
	return rows, retryableRead(ctx, err)
}

func (c *readConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.mysqlConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	inner, ok := st.(mysqlStmt)
	if !ok {
		return st, nil
	}
	return &readStmt{inner}, nil
}

// mysqlStmt is what the driver's prepared statement implements.
type mysqlStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
	driver.NamedValueChecker
}

type readStmt struct{ mysqlStmt }

func (s *readStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := s.mysqlStmt.QueryContext(ctx, args)
	return rows, retryableRead(ctx, err)
}

// retryableRead reports a read's dropped connection as driver.ErrBadConn, unless the
// caller's context ended (then the driver's own answer stands).
func retryableRead(ctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(err, mysql.ErrInvalidConn) {
		return fmt.Errorf("%w (query's connection dropped: %w)", driver.ErrBadConn, err)
	}
	return err
}
