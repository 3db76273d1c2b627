package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// A query whose connection drops while it runs fails with mysql.ErrInvalidConn, which
// database/sql does not retry: the driver cannot know whether a statement it sent was
// applied. A query is a read (the app sends no INSERT … RETURNING), so running it again
// is safe; reporting the connection as bad (driver.ErrBadConn) lets database/sql run it
// on another connection. When a Galera writer dies, that turns the reads in flight (a
// session, a student's basket) from a 503 into an answer from the next writer. Inside a
// transaction there is no other connection: a prepared statement's retries run on the
// same closed one and fail at once, and InTx takes the error as a dropped connection as
// before. Statements other than queries (Exec, COMMIT) keep the driver's
// error: their outcome is unknown. The connection wrapper of finish.go applies it.

// retryableRead reports a read's dropped connection as driver.ErrBadConn, unless the
// caller's context ended or the read ran into the read timeout (the driver reports that
// as a dropped connection too): running a statement that hung for readTimeout again, on
// up to three connections, would hold the request for minutes and pile the hung
// statements up on the server.
func retryableRead(ctx context.Context, start time.Time, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(err, mysql.ErrInvalidConn) && time.Since(start) < readTimeout/2 {
		return fmt.Errorf("%w (query's connection dropped: %w)", driver.ErrBadConn, err)
	}
	return err
}
