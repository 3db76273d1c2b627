package db

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Only the server's refusal to prepare (its limit of prepared statements) sends a query
// on unprepared: any other error is the query's own answer.
func TestRefusedIsOnlyTheLimit(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&mysql.MySQLError{Number: 1461, Message: "Can't create more than max_prepared_stmt_count statements"}, true},
		{fmt.Errorf("lock student: %w", &mysql.MySQLError{Number: 1461}), true},
		{&mysql.MySQLError{Number: 1213}, false},
		{mysql.ErrInvalidConn, false},
		{nil, false},
	} {
		if got := refused(c.err); got != c.want {
			t.Errorf("refused(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// A statement the server refused to prepare is not tried again for retryPrepare, then is.
func TestPreparationRestsAfterAFailure(t *testing.T) {
	var l lazyStmt
	now := time.Now()
	if l.resting(now) {
		t.Fatal("a statement never tried rests")
	}
	l.failed.Store(int64(now.Sub(epoch)))
	if !l.resting(now.Add(retryPrepare / 2)) {
		t.Error("tried again half a retryPrepare after failing")
	}
	if l.resting(now.Add(retryPrepare)) {
		t.Error("still resting retryPrepare after failing")
	}
}
