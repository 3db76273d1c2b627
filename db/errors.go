package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// Retryable reports whether err is a deadlock or lock-wait timeout (Galera reports a
// certification conflict as a deadlock too), after which MySQL has rolled the
// transaction back and running it again is safe.
func Retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

// Unavailable reports whether err means the database is away rather than that the
// request was wrong: the connection dropped or could not be made, or the server refused
// because it is not ready for writes. A transaction that failed so before its COMMIT was
// rolled back by the server (a connection that closes ends its transaction), so it can
// run again once the database is back (see InTx); ErrCommitUnknown counts as well.
func Unavailable(err error) bool {
	if errors.Is(err, ErrCommitUnknown) || droppedConn(err) {
		return true
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	switch me.Number {
	case 1040, // too many connections
		1047, // WSREP has not yet prepared node for application use (Galera, not synced)
		1053, // server shutdown in progress
		1290, // read-only (--read-only: a replica, or a primary being demoted)
		1927, // connection was killed
		4031: // disconnected by the server for inactivity
		return true
	}
	return false
}

// droppedConn reports whether err is the connection failing rather than the server
// answering: the driver's own errors, a network error, or the server end closing.
// context.DeadlineExceeded is one too: the app puts deadlines on statements so that a
// server that stops answering does not hold the request (the caller's own context is
// checked separately).
func droppedConn(err error) bool {
	var ne net.Error
	return errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne)
}

// commitMayHaveLanded reports whether a failed COMMIT may have been applied all the
// same: the connection dropped after the statement left. driver.ErrBadConn is the
// driver's word that nothing was written, and an error from the server (a certification
// conflict, say) is a rollback.
func commitMayHaveLanded(err error) bool {
	var me *mysql.MySQLError
	return droppedConn(err) && !errors.Is(err, driver.ErrBadConn) && !errors.As(err, &me)
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
